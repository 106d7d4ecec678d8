"""The app's main flows, driven through real widgets: open, type classes, predict, paint, undo, save, reopen,
export, unknown words, a corrupt image, crash recovery, start-up without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PySide6.QtCore import Qt

from core.io.image import read_label_png


def type_class(qtbot, window, name):
    window.classes.entry.setText(name)
    qtbot.keyClick(window.classes.entry, Qt.Key.Key_Return)


def set_brush(window, image_pixels):
    """The brush's size is in screen pixels: this many image pixels at the current zoom."""
    window.controls.brush.setValue(max(1, round(image_pixels * window.canvas.transform().m11())))


def stroke(qtbot, window, points):
    view = window.canvas.viewport()
    pos = [window.canvas.mapFromScene(x + 0.5, y + 0.5) for x, y in points]
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=pos[0])
    for p in pos[1:]:
        qtbot.mouseMove(view, p)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pos[-1])


def test_open_predict_paint_undo_save_reopen_export(qtbot, make_window, photos, tmp_path):
    window = make_window()
    assert window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    assert window.image_id == "test_00000" and window.navigator.count() == 4
    for name in ("red triangle", "yellow heart"):
        type_class(qtbot, window, name)
    assert window.project.names == ["red triangle", "yellow heart"]
    qtbot.waitUntil(lambda: window.result is not None and len(window.result.names) == 2, timeout=20_000)
    assert "CPU" in window.status_model.text() and "ms" in window.status_latency.text()
    draft = window.history.labels.copy()
    assert (draft == 2).sum() > 200  # the yellow heart of the first sample is found without any labels
    # a brush stroke with class 1 selected, then undo restores the draft exactly; redo brings it back
    window.classes.list.setCurrentRow(0)
    set_brush(window, 5)
    stroke(qtbot, window, [(5, 5), (20, 5), (30, 8)])
    painted = window.history.labels.copy()
    assert (painted == 1).sum() > (draft == 1).sum() + 40 and painted[5, 10] == 1
    assert window.navigator.status("test_00000") == "draft"
    assert window.undo_action.shortcut().toString() == "Ctrl+Z"
    window.undo_action.trigger()
    assert np.array_equal(window.history.labels, draft)
    window.redo_action.trigger()
    assert np.array_equal(window.history.labels, painted)
    # names change -> only the scorer re-runs on the encoded image, and the user's edits are kept
    type_class(qtbot, window, "blue star")
    qtbot.waitUntil(lambda: window.result is not None and len(window.result.names) == 3, timeout=20_000)
    assert not window.result.encoded and "scorer only" in window.status_latency.text()
    assert np.array_equal(window.history.labels, painted)
    window.save()
    qtbot.waitUntil(lambda: (photos / "SegmentationClass" / "test_00000.png").is_file(), timeout=10_000)
    qtbot.waitUntil(lambda: window.navigator.status("test_00000") == "draft", timeout=5_000)
    window.close()
    # reopen: the same label map and class list come back from disk
    again = make_window()
    again.open_path(photos / "test_00000.png")
    qtbot.waitUntil(lambda: again.rgb is not None, timeout=10_000)
    assert again.project.names == ["red triangle", "yellow heart", "blue star"]
    assert np.array_equal(again.history.labels, painted) and not again.draft
    # export COCO for the project (through the dialog, in its thread)
    from gui.dialogs import ExportDialog

    dialog = ExportDialog(again.project, again.image_id, again)
    dialog.format.setCurrentIndex(2)
    assert dialog.scope.currentData() == "done" and dialog.ids() == []  # saved, not marked done
    dialog.scope.setCurrentIndex(1)  # done and draft
    dialog.out.setText(str(tmp_path / "coco.json"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result_message is not None, timeout=10_000)
    assert dialog.result_message == ""
    doc = json.loads((tmp_path / "coco.json").read_text())
    assert [c["name"] for c in doc["categories"]] == ["red triangle", "yellow heart", "blue star"]
    assert {a["category_id"] for a in doc["annotations"]} == set(np.unique(painted)) - {0}
    dialog.done(0)


def test_unknown_word_is_marked_and_corrupt_image_does_not_stop_the_app(qtbot, make_window, photos):
    window = make_window()
    window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    type_class(qtbot, window, "red circle")
    type_class(qtbot, window, "zorblaxian thing")
    qtbot.waitUntil(lambda: "zorblaxian thing" in window.classes.unknown, timeout=20_000)
    assert window.classes.unknown["zorblaxian thing"] == ["zorblaxian"]
    item = window.classes.list.item(1)
    assert "zorblaxian" in item.toolTip() and item.foreground().color().red() > 200
    qtbot.waitUntil(lambda: window.result is not None and window.result.names == ("red circle",), timeout=20_000)
    # the corrupt file: an error that names it, its navigator entry marked, and the next image still opens
    window.show_image("test_00001b_corrupt")
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=10_000)
    assert "test_00001b_corrupt" in window.last_error[1] and window.navigator.status("test_00001b_corrupt") == "error"
    window.show_image("test_00001")
    qtbot.waitUntil(lambda: window.rgb is not None and window.image_id == "test_00001", timeout=10_000)


def test_autosave_and_recovery_after_a_crash(qtbot, make_window, photos):
    window = make_window()
    window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    type_class(qtbot, window, "thing")
    set_brush(window, 9)
    stroke(qtbot, window, [(40, 40), (60, 50)])
    edited = window.history.labels.copy()
    window.autosave()
    qtbot.waitUntil(lambda: (photos / ".autosave" / "test_00000.png").is_file(), timeout=10_000)
    # a crash: the window goes away without saving (no closeEvent save)
    window.history.version = window.saved_version
    window.close()
    assert not (photos / "SegmentationClass" / "test_00000.png").exists()
    again = make_window()
    again.recovery_policy = "recover"
    again.open_path(photos)
    qtbot.waitUntil(lambda: again.rgb is not None, timeout=10_000)
    assert again.image_id == "test_00000" and np.array_equal(again.history.labels, edited)
    with qtbot.waitSignal(again.disk.saved, timeout=10_000):  # the whole save: label map written, autosave dropped
        again.save()
    assert np.array_equal(read_label_png(photos / "SegmentationClass" / "test_00000.png"), edited)
    assert not (photos / ".autosave" / "test_00000.png").exists()


def test_class_removal_renumbers_the_open_labels(qtbot, make_window, photos):
    window = make_window()
    window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    for name in ("a", "b"):
        type_class(qtbot, window, name)
    window.classes.list.setCurrentRow(1)
    set_brush(window, 7)
    stroke(qtbot, window, [(10, 10), (30, 10)])
    assert window.history.labels[10, 20] == 2
    window.remove_class(0)
    assert window.project.names == ["b"] and window.history.labels[10, 20] == 1


def test_start_up_shows_the_window_without_importing_torch(tmp_path):
    env = {"QT_QPA_PLATFORM": "offscreen", "ZEROLABEL_SETTINGS": str(tmp_path / "s.ini"),
           "ZEROLABEL_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "gui", "--quit-after-show"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "torch imported: False" in out.stdout


def test_a_training_run_is_exported_once_and_used(qtbot, make_window, photos, tmp_path):
    import torch

    from core.models.base import ModelConfig, build_model
    from core.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", "tiny", 50, image_size=64)).eval()
    model.seen_classes = ["red circle"]
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(run / "best.pt", model, embedding_source="glove50", split={"seen": ["red circle"], "unseen": []})
    window = make_window()
    window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    type_class(qtbot, window, "red triangle")
    window.load_model(str(run))
    qtbot.waitUntil(lambda: window.model_info[0] == "run", timeout=60_000)
    assert (run / "onnx" / "manifest.json").is_file()
    qtbot.waitUntil(lambda: window.result is not None and window.result.names == ("red triangle",), timeout=20_000)
    assert window.result.prediction.heatmaps.shape[1:] == window.rgb.shape[:2]


def test_dropping_an_image_opens_it_in_a_private_project_that_is_remembered(qtbot, make_window, photos):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photos / "test_00002.png"))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    assert window.image_id == "test_00002"
    assert not (photos / "project.json").exists() and window.project.root != photos.resolve()  # nothing beside it
    assert window.settings.value("recent")[0] == str(window.project.root)
    assert [a.text() for a in window.recent_menu.actions()] == [str(window.project.root)]


def test_runs_of_the_project_are_listed_newest_first(qtbot, make_window, photos):
    window = make_window()
    window.open_path(photos)
    window.refresh_runs()
    assert [a.text() for a in window.runs_menu.actions()] == ["(none yet: Training ▸ Train a Model)"]
    import os

    for n, name in enumerate(["old", "new"]):
        (photos / "runs" / name).mkdir(parents=True)
        (photos / "runs" / name / "best.pt").write_bytes(b"x")
        os.utime(photos / "runs" / name, (1000 + n, 1000 + n))
    (photos / "runs" / "data-123").mkdir()  # a dataset written by the dialog is not a run
    (photos / "runs" / "stopped").mkdir()
    (photos / "runs" / "stopped" / "last.pt").write_bytes(b"x")
    os.utime(photos / "runs" / "stopped", (900, 900))
    window.refresh_runs()
    actions = window.runs_menu.actions()
    assert [a.text().split(" — ")[0] for a in actions] == ["new", "old", "stopped"]
    assert [a.isEnabled() for a in actions] == [True, True, False] and "stopped" in actions[2].text()


def test_the_window_icon_ships_with_the_package(qtbot):
    from gui.app import app_icon

    icon = app_icon()
    assert not icon.isNull() and icon.availableSizes()[0].width() == 256
