#!/usr/bin/env bash
# Build the desktop bundle into dist/zerolabel/ (`make package` runs this). Usage: packaging/build.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PY:-.venv/bin/python}}
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/zerolabel.spec
exe=dist/zerolabel/zerolabel-gui
test -x "$exe" || { echo "build.sh: $exe was not written" >&2; exit 1; }
if find dist/zerolabel -path '*/torch/*' -print -quit | grep -q .; then
    echo "build.sh: torch ended up in the bundle; check EXCLUDES in packaging/zerolabel.spec" >&2; exit 1
fi
echo "built $exe in $(( $(date +%s) - start )) s; bundle $(du -sh dist/zerolabel | cut -f1)"
