#!/usr/bin/env bash
# Install the desktop entry and icons for the current user (`make install-desktop` runs this).
# Usage: packaging/install-desktop.sh [EXECUTABLE]
#   EXECUTABLE defaults to the built bundle dist/zerolabel/zerolabel-gui when it exists, else `zerolabel-gui`
#   on PATH (pipx install). Honours $XDG_DATA_HOME (default ~/.local/share). Undo: packaging/install-desktop.sh --remove
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps=$data/applications
icons=$data/icons/hicolor
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/zerolabel.desktop" "$icons/256x256/apps/zerolabel.png" "$icons/scalable/apps/zerolabel.svg"
    echo "removed the zerolabel desktop entry and icons from $data"; exit 0
fi
exe=${1:-}
if [ -z "$exe" ]; then
    if [ -x "$here/../dist/zerolabel/zerolabel-gui" ]; then exe=$(cd "$here/../dist/zerolabel" && pwd)/zerolabel-gui
    else exe=zerolabel-gui; fi
fi
case $exe in *\ *) exe="\"$exe\"";; esac  # desktop-entry quoting for a path with spaces
mkdir -p "$apps" "$icons/256x256/apps" "$icons/scalable/apps"
sed "s|^Exec=zerolabel-gui |Exec=$exe |" "$here/zerolabel.desktop" > "$apps/zerolabel.desktop"
install -m 644 "$here/../resources/icons/zerolabel.png" "$icons/256x256/apps/zerolabel.png"
install -m 644 "$here/zerolabel.svg" "$icons/scalable/apps/zerolabel.svg"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
echo "installed $apps/zerolabel.desktop (Exec=$exe) and icons under $icons"
