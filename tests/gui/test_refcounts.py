"""The Qt binding must not leak or drop references to Python's singletons.

PySide6-Essentials 6.12.0 on CPython 3.11 drops one reference to ``None`` on each ``setToolTip``, ``setData``,
``addItem``, ``setForeground`` and ``QThreadPool.start``; when the count reaches zero the interpreter aborts with
``Fatal Python error: none_dealloc`` (opening a folder of 2,000 images was enough). The calls run in a child process,
so a draining build fails this test with a message instead of aborting the whole test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

CALLS = 10_000
TOLERANCE = 50  # a few references held by caches are fine; a drain shows up as about -CALLS

PROBE = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QRunnable, Qt, QThreadPool
    from PySide6.QtGui import QBrush, QColor
    from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QListWidget, QListWidgetItem

    app = QApplication([])
    N = int(sys.argv[1])
    singletons = (None, True, False)

    class Job(QRunnable):
        def run(self):
            pass

    label, combo, widget, item = QLabel(), QComboBox(), QListWidget(), QListWidgetItem("x")
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    calls = {
        "setToolTip": lambda: item.setToolTip("tip"),
        "QLabel.setToolTip": lambda: label.setToolTip("tip"),
        "setData": lambda: item.setData(Qt.ItemDataRole.UserRole, "value"),
        "QComboBox.addItem": lambda: combo.addItem("text", "data"),
        "QListWidget.addItem": lambda: widget.addItem(QListWidgetItem("x")),
        "setForeground": lambda: item.setForeground(QBrush(QColor(1, 2, 3))),
        "QThreadPool.start": lambda: pool.start(Job()),
    }
    out = {}
    for name, call in calls.items():
        before = [sys.getrefcount(s) for s in singletons]
        for _ in range(N):
            call()
        pool.waitForDone()
        combo.clear()
        widget.clear()
        after = [sys.getrefcount(s) for s in singletons]
        out[name] = [a - b for a, b in zip(after, before)]
        print(name, out[name], file=sys.stderr, flush=True)

    import pyqtgraph as pg  # the training wizard's loss curve: setData while it paints (the wizard's abort)

    plot = pg.PlotWidget()
    plot.resize(300, 200)
    plot.show()
    curve, xs, ys = plot.plot([], []), [], []
    before = [sys.getrefcount(s) for s in singletons]
    for i in range(N // 10):
        xs.append(i)
        ys.append(1.0 / (i + 1))
        curve.setData(xs, ys)
        if i % 50 == 0:
            plot.grab()
    after = [sys.getrefcount(s) for s in singletons]
    out["pyqtgraph.setData+paint"] = [min(0, a - b) for a, b in zip(after, before)]  # held references are fine
    print("pyqtgraph.setData+paint", [a - b for a, b in zip(after, before)], file=sys.stderr, flush=True)
    print(json.dumps(out))
""")


def test_no_reference_drain_of_none_true_false():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(CALLS)], capture_output=True, text=True, env=env,
                          timeout=300)
    import PySide6

    assert proc.returncode == 0, (
        f"PySide6 {PySide6.__version__}: {CALLS} calls of each Qt method aborted the interpreter "
        f"(exit {proc.returncode}); install a build that does not drop references (see pyproject.toml):\n"
        f"{proc.stderr[-1500:]}")
    deltas = json.loads(proc.stdout.strip().splitlines()[-1])
    bad = {name: d for name, d in deltas.items() if any(abs(v) > TOLERANCE for v in d)}
    assert not bad, f"PySide6 {PySide6.__version__}: refcount change of (None, True, False) per method: {bad}"
