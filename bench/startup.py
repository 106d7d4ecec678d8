"""Cold start of the app to a shown window, side by side with what it is made of, in one run.

Each row is a fresh Python process (median of ``--repeats``): an empty interpreter, a bare PySide6 window,
the zerolabel window (``zerolabel-gui --quit-after-show``, which reports whether torch got imported), and, for
scale, ``import torch`` (what the app avoids at start-up). Writes ``bench/results/startup.md``.

Usage: ``python bench/startup.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "startup.md"
BARE = ("from PySide6.QtWidgets import QApplication, QMainWindow; app = QApplication([]); w = QMainWindow(); "
        "w.show(); app.processEvents()")
ROWS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "bare PySide6 window": [sys.executable, "-c", BARE],
    "zerolabel window (shown)": [sys.executable, "-m", "gui", "--quit-after-show"],
    "import torch (avoided)": [sys.executable, "-c", "import torch"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ZEROLABEL_SETTINGS": f"{scratch}/s.ini",
           "ZEROLABEL_DATA": scratch}
    times, notes = {}, {}
    for _ in range(args.repeats):  # interleaved, so drift hits every row alike
        for name, cmd in ROWS.items():
            start = time.perf_counter()
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            times.setdefault(name, []).append(time.perf_counter() - start)
            if "torch imported" in out.stdout:
                notes[name] = out.stdout.strip().splitlines()[-1]
    app = statistics.median(times["zerolabel window (shown)"])
    lines = [f"<!-- written by: python bench/startup.py --repeats {args.repeats} -->",
             "| process | median s | vs zerolabel window | note |", "|---|---:|---:|---|"]
    for name, values in times.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:.3f} | {med / app:.2f}x | {notes.get(name, '')} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
