"""The app never says "saved" for edits the disk does not hold, never turns an unreviewed draft into a label, keeps
one writer per project, orders its writes, and lists broken run folders instead of failing."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QTimer

from core.io.image import read_label_png


def _open(qtbot, window, folder, classes=("a", "b")):
    assert window.open_path(folder)
    qtbot.waitUntil(lambda: window.history is not None, timeout=10_000)
    for name in classes:
        if name not in window.project.names:
            window.add_class(name)


def _paint(window, count: int, value: int = 1) -> np.ndarray:
    with window.history.stroke():
        window.history.paint(np.arange(count), value)
    window._edited()
    return window.history.labels.copy()


def test_a_failed_save_stays_dirty_is_autosaved_and_comes_back(qtbot, make_window, photos):
    window = make_window()
    _open(qtbot, window, photos)
    first = window.image_id
    edited = _paint(window, 2_500)
    (photos / "SegmentationClass").write_text("a file where the label folder goes: every save fails for real")
    # the autosave timer may fail first (same folder); wait until the window has handled the save's own failure
    window.save()
    qtbot.waitUntil(lambda: window.last_error is not None and "Could not save" in window.last_error[0],
                    timeout=10_000)
    assert window.dirty and "Could not save" in window.last_error[0] and "autosave" in window.last_error[1]
    assert np.array_equal(read_label_png(photos / ".autosave" / f"{first}.png"), edited)
    window.step_image(1)  # leaving tries again, fails again; the edits stay with the window
    qtbot.waitUntil(lambda: window.navigator.status(first) == "unsaved", timeout=10_000)
    window.step_image(-1)
    qtbot.waitUntil(lambda: window.image_id == first and window.history is not None, timeout=10_000)
    assert window.dirty and np.array_equal(window.history.labels, edited)
    window.close()  # kept in the autosave: closing does not ask, and the next start recovers them
    again = make_window()
    again.recovery_policy = "recover"
    _open(qtbot, again, photos)
    assert again.image_id == first and np.array_equal(again.history.labels, edited) and again.dirty
    (photos / "SegmentationClass").unlink()  # the disk is fixed: the save goes through and only then counts
    with qtbot.waitSignal(again.disk.saved, timeout=10_000):
        again.save()
    assert not again.dirty and np.array_equal(read_label_png(photos / "SegmentationClass" / f"{first}.png"), edited)
    assert not (photos / ".autosave" / f"{first}.png").exists()


def test_export_never_saves_an_untouched_draft_and_counts_what_it_writes(qtbot, make_window, photos, tmp_path):
    window = make_window()
    _open(qtbot, window, photos, classes=("red triangle", "yellow heart"))
    qtbot.waitUntil(lambda: window.result is not None, timeout=30_000)
    current = window.image_id
    assert window.draft and (window.history.labels > 0).any()  # the model's draft, nobody accepted it
    others = [i for i in window.project.ids if i != current]
    window.project.save_labels(others[0], np.ones((64, 64), np.uint8), done=True)
    window.project.save_labels(others[1], np.full((64, 64), 2, np.uint8), done=False)
    seen = {}

    def inspect():
        dialog = window.findChild(__import__("gui.dialogs", fromlist=["ExportDialog"]).ExportDialog)
        seen["scopes"] = [dialog.scope.itemText(i) for i in range(dialog.scope.count())]
        seen["default"] = dialog.scope.currentData()
        dialog.out.setText(str(tmp_path / "out"))
        dialog.start()
        qtbot.waitUntil(lambda: dialog.result_message is not None, timeout=10_000)
        seen["message"] = dialog.message.text()
        dialog.reject()

    QTimer.singleShot(0, inspect)
    window.export_dialog()
    assert seen["scopes"][:2] == ["Done images only (1)", "Done and draft images (2)"] and seen["default"] == "done"
    assert seen["message"].startswith("Exported 1 done image(s)")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [f"{others[0]}.png"]
    assert not window.project.label_path(current).exists() and window.project.image_status(current) == "unlabeled"
    assert window.draft and not window.dirty


def test_a_second_window_on_the_same_project_is_read_only(qtbot, make_window, photos):
    first = make_window()
    _open(qtbot, first, photos)
    _paint(first, 50)
    with qtbot.waitSignal(first.disk.saved, timeout=10_000):
        first.autosave()  # the first window's live edits, not a crashed session's
    second = make_window()
    second.recovery_policy = "recover"
    _open(qtbot, second, photos, classes=())
    assert not second.recover and not second.dirty
    assert "read-only" in second.windowTitle() and second.last_error[0] == "Opened read-only"
    assert second.status_read_only.text().startswith("Read-only") and first.status_read_only.text() == ""
    _paint(second, 100)
    with qtbot.waitSignal(second.disk.save_failed, timeout=10_000):
        second.save()
    assert second.dirty and not (photos / "SegmentationClass").exists()
    assert [p.name for p in (photos / ".autosave").iterdir()] == [f"{first.image_id}.png"]  # the first's only
    second.close()
    first.close()
    assert not (photos / ".zerolabel.lock").exists()


def test_a_class_change_waits_for_the_saves_queued_before_it(qtbot, make_window, photos):
    window = make_window()
    _open(qtbot, window, photos)
    labels = _paint(window, 500, value=2)  # class b
    window.save()
    window.remove_class(0)  # a goes: b becomes 1, also in the map the save just wrote
    qtbot.waitUntil(lambda: not window.dirty, timeout=10_000)
    saved = read_label_png(photos / "SegmentationClass" / f"{window.image_id}.png")
    assert np.array_equal(saved, np.where(labels == 2, 1, 0)) and window.project.names == ["b"]


def test_broken_run_folders_are_listed_not_raised(qtbot, make_window, photos):
    window = make_window()
    window.open_path(photos)
    for n, data in enumerate([{"status": "running", "pid": "abc"}, {"status": "done", "step": [1]}, ["x"]]):
        (photos / "runs" / f"r{n}").mkdir(parents=True)
        (photos / "runs" / f"r{n}" / "status.json").write_text(json.dumps(data))
    (photos / "runs" / "old").mkdir()
    (photos / "runs" / "old" / "last.pt").write_bytes(b"x")
    (photos / "runs" / "old" / "config.json").write_text(json.dumps({"method": 5, "data": ["x"]}))
    window.refresh_runs()
    texts = [a.text() for a in window.runs_menu.actions()]
    assert len(texts) == 4 and sum("failed" in t for t in texts) == 3
    window.training_dialog()
    dialog = window.trainer_dialog
    assert dialog.runs.count() == 4
    from gui.training_checks import run_method

    method, error = run_method(str(photos / "runs" / "old"))
    assert method == "" and "config.json" in error and "cannot be continued" in error
    dialog.done(0)


def test_a_dataset_from_the_project_that_cannot_be_written_is_a_message(qtbot, make_window, photos, tmp_path):
    window = make_window()
    _open(qtbot, window, photos)
    _paint(window, 300)
    window.mark_done()  # queued save; the wizard's dataset waits for it
    window.training_dialog()
    dialog = window.trainer_dialog
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dialog.out.setText(str(blocker / "run"))  # the dataset goes beside the run folder: inside a file
    dialog.use_project()
    qtbot.waitUntil(lambda: not dialog.checking, timeout=60_000)  # the dataset is written in a worker thread
    assert "Could not write the dataset" in dialog.problems.text() and "a-file" in dialog.problems.text()
    dialog.out.setText(str(tmp_path / "runs" / "run"))
    dialog.use_project()
    qtbot.waitUntil(lambda: not dialog.checking, timeout=60_000)
    written = list((tmp_path / "runs").glob("data-*/SegmentationClass/*.png"))
    assert len(written) == 1 and dialog.problems.text() == ""
    dialog.done(0)


def test_a_settings_file_with_one_recent_project_or_odd_values_starts_normally(qtbot, make_window, photos, tmp_path):
    import argparse
    import os

    from gui.app import open_initial

    # how an INI file stores a one-entry list (read back as a plain string), and values of the wrong type
    (tmp_path / "settings.ini").write_text(f"[General]\nrecent={photos}\ngeometry=junk\ntext_encoder=@Invalid()\n"
                                           "device=3\n")
    assert os.environ["ZEROLABEL_SETTINGS"] == str(tmp_path / "settings.ini")
    window = make_window()
    assert window.recent_projects() == [str(photos)] and window.model_info[2]  # the model's own text encoder
    open_initial(window, argparse.Namespace(path=None, samples=False))
    assert window.project is not None and window.project.root == photos
    assert [a.text() for a in window.recent_menu.actions()] == [str(photos)]


def test_an_image_of_another_project_with_the_same_name_is_encoded_again(qtbot, make_window, photos, tmp_path):
    import shutil

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(photos / "test_00002.png", other / "test_00000.png")  # same id, other pixels
    window = make_window()
    _open(qtbot, window, photos, classes=("yellow heart",))
    qtbot.waitUntil(lambda: window.result is not None, timeout=30_000)
    runs = window.worker.predictor.encoder_runs
    _open(qtbot, window, other, classes=("yellow heart",))
    assert window.image_id == "test_00000"
    qtbot.waitUntil(lambda: window.result is not None, timeout=30_000)
    assert window.result.encoded and window.worker.predictor.encoder_runs == runs + 1


def test_a_late_thumbnail_of_the_folder_opened_before_is_dropped(qtbot, photos, tmp_path):
    from gui.navigator import Navigator

    nav = Navigator()
    qtbot.addWidget(nav)
    nav.set_images({"test_00000": photos / "test_00000.png"}, {})
    old = nav._generation
    nav.set_images({"test_00000": photos / "test_00001.png"}, {})
    assert nav.wait_for_thumbnails()
    qtbot.wait(50)
    item = nav.item(0)
    before = item.icon().pixmap(16, 16).toImage()
    nav._signals.ready.emit("test_00000", np.full((8, 8, 3), 255, np.uint8), old)  # as a late pool job would
    qtbot.wait(50)
    assert item.icon().pixmap(16, 16).toImage() == before
    nav._signals.ready.emit("test_00000", np.full((8, 8, 3), 255, np.uint8), nav._generation)
    qtbot.wait(50)
    assert item.icon().pixmap(16, 16).toImage() != before  # the current folder's thumbnails still land
