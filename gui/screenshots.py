"""Save PNG screenshots of the app's main states (``make screenshots``), driving the real window offscreen.

Usage: ``python -m gui.screenshots OUT_DIR`` (uses a throw-away settings file and project folder).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def wait(app, condition, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the app did not reach the expected state")
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="zerolabel-shots-")
    os.environ["ZEROLABEL_SETTINGS"] = os.path.join(scratch, "settings.ini")
    os.environ["ZEROLABEL_DATA"] = scratch
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from core.inference.runtime import sample_images_folder
    from gui.app import settings
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings())
    window.resize(1360, 820)
    window.load_model("")
    window.show()
    window.open_path(sample_images_folder())
    wait(app, lambda: window.rgb is not None and window.model_info[1] != "")
    window.navigator.wait_for_thumbnails()
    wait(app, lambda: False, 0.3) if False else app.processEvents()
    window.grab().save(str(out / "1-open.png"))
    for name in ("red triangle", "blue circle", "yellow heart", "purple star", "zorblaxian"):
        window.classes.entry.setText(name)
        QTest.keyClick(window.classes.entry, Qt.Key.Key_Return)
    wait(app, lambda: window.result is not None and len(window.result.names) == 4 and len(window.classes.unknown) == 1)
    for _ in range(20):
        app.processEvents()
    window.grab().save(str(out / "2-masks.png"))
    window.classes.list.setCurrentRow(2)  # yellow heart
    window.controls.layer.setCurrentIndex(1)
    app.processEvents()
    window.grab().save(str(out / "3-heatmap.png"))
    window.controls.layer.setCurrentIndex(2)
    app.processEvents()
    window.grab().save(str(out / "4-uncertainty.png"))
    window.controls.layer.setCurrentIndex(0)
    window.classes.list.setCurrentRow(1)
    view = window.canvas.viewport()
    start = window.canvas.mapFromScene(10, 10)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 12):
        QTest.mouseMove(view, start + QPoint(6 * i, 4 * i))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start + QPoint(66, 44))
    app.processEvents()
    window.grab().save(str(out / "5-brush.png"))
    from gui.dialogs import ExportDialog

    window.save(done=True)  # the export offers done images (the default) or done and draft
    window.flush()
    dialog = ExportDialog(window.project, window.image_id, window)
    dialog.show()
    app.processEvents()
    dialog.grab().save(str(out / "6-export.png"))
    dialog.done(0)
    from core.data.shapes import ShapesConfig, write_shapes
    from gui.training import TrainingDialog
    from training.messages import Finished

    data = Path(scratch) / "shapes"
    write_shapes(data, ShapesConfig(size=64, train=48, val=12, test=12))
    trainer = TrainingDialog(str(data), str(Path(scratch) / "runs"), window)
    trainer.steps.setValue(150)
    trainer.show()
    trainer.next_button.click()
    app.processEvents()
    trainer.grab().save(str(out / "7-training-data.png"))
    trainer.next_button.click()
    app.processEvents()
    trainer.grab().save(str(out / "7-training-model.png"))
    trainer.start(extra=["--batch-size", "4", "--image-size", "64", "--eval-every", "50"])
    wait(app, lambda: isinstance(trainer.last, Finished), timeout=300)
    trainer.grab().save(str(out / "7-training.png"))
    trainer.go(0)
    trainer.runs.setCurrentRow(0)
    app.processEvents()
    trainer.grab().save(str(out / "7-training-task.png"))
    trainer.task.setCurrentIndex(trainer.task.findData("selftrain"))
    trainer.go(1)
    app.processEvents()
    trainer.grab().save(str(out / "7-training-selftrain.png"))
    trainer.done(0)
    window.close()
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
