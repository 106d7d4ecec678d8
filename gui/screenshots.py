"""Save PNG screenshots of the app's main states (``make screenshots``), driving the real window offscreen.

Usage: ``python -m gui.screenshots OUT_DIR [--photos]`` (a throw-away settings file and project folder;
``--photos``: only the real-photo screenshots ``photos-*.png``).
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


def brush(window, points, image_pixels: int) -> None:
    """A brush (or eraser) stroke through image points, ``image_pixels`` wide at the current zoom."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window.controls.brush.setValue(max(1, round(image_pixels * window.canvas.transform().m11())))
    view = window.canvas.viewport()
    pos = [window.canvas.mapFromScene(x + 0.5, y + 0.5) for x, y in points]
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=pos[0])
    for p in pos[1:]:
        QTest.mouseMove(view, p)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pos[-1])


def photos(app, out: Path, scratch: str) -> None:
    """The sample photos on the built-in photo model: masks, an unsupported name, strokes, the taught class."""
    import shutil

    import cv2

    from core.photo import sample_photos_folder
    from gui.app import settings
    from gui.main_window import MainWindow
    from gui.teach import PHOTO_CLASSES
    from gui.teach_mixin import FLOWER

    folder = Path(scratch) / "my-photos"
    shutil.copytree(sample_photos_folder(), folder, ignore=shutil.ignore_patterns("*.md"))
    view = cv2.imread(str(folder / "china.jpg"))  # another view of the lake: its right part, mirrored
    cv2.imwrite(str(folder / "lake.jpg"), cv2.flip(view[:, 240:], 1))
    window = MainWindow(settings())
    window.recovery_policy = "discard"
    window.resize(1360, 820)
    window.use_builtin("photos")
    window.show()
    wait(app, lambda: window.model_info[1] != "")
    window.open_path(folder)
    for name in PHOTO_CLASSES:
        window.add_class(name)
    window._color(PHOTO_CLASSES.index("flower"), FLOWER)  # as open_samples does: not sky's blue

    def shot(image_id: str, name: str, names=PHOTO_CLASSES, settle: float = 0.3) -> None:
        window.show_image(image_id)
        wait(app, lambda: window.image_id == image_id and window.result is not None
             and window.result.image_id == image_id and set(window.result.names) | set(window.result.taught)
             >= set(names))
        window.navigator.wait_for_thumbnails()
        end = time.monotonic() + settle
        while time.monotonic() < end:
            app.processEvents()
        window.grab().save(str(out / name))

    shot("chelsea", "photos-1-cat.png")
    shot("coffee", "photos-2-cup.png")
    shot("astronaut", "photos-3-person.png")
    window.add_class("sky")
    wait(app, lambda: "sky" in window.classes.unknown)
    shot("china", "photos-4-unsupported.png")
    window.classes.list.setCurrentRow(0)
    window.classes.list.setCurrentRow(len(PHOTO_CLASSES))  # the status bar says why it is not predicted
    app.processEvents()
    window.grab().save(str(out / "photos-4-unsupported.png"))
    for points in ([(20, 20), (150, 25), (250, 60)], [(560, 30), (620, 15)]):
        brush(window, points, 14)
    window.controls.set_tool("eraser")
    for points in ([(20, 300), (150, 400), (600, 410)], [(340, 150), (350, 300)], [(420, 230), (520, 240)]):
        brush(window, points, 14)
    window.controls.set_tool("brush")
    app.processEvents()
    window.grab().save(str(out / "photos-5-strokes.png"))
    window.teach_strokes()
    wait(app, lambda: "sky" in window.taught_classes)
    shot("lake", "photos-6-taught.png", names=(*PHOTO_CLASSES, "sky"))
    window.controls.layer.setCurrentIndex(1)  # the taught class's heatmap
    app.processEvents()
    window.grab().save(str(out / "photos-7-taught-heatmap.png"))
    window.controls.layer.setCurrentIndex(0)
    window.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    only_photos = "--photos" in argv
    argv = [a for a in argv if a != "--photos"]
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
    photos(app, out, scratch)
    if only_photos:
        print(f"screenshots in {out}")
        return 0
    window = MainWindow(settings())
    window.recovery_policy = "discard"
    window.resize(1360, 820)
    window.use_builtin("shapes")
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
