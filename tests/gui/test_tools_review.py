"""Review mode through the real window: step through done images, accept, send back with a note; the decisions
and notes are saved in the project and come back in the image list of the next session."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.annotation.review import Review, ReviewError


def test_review_accepts_and_sends_back_with_a_note(qtbot, make_window, photos):
    window = make_window()
    assert window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    project = window.project
    window.classes.entry.setText("heart")
    window.classes.entry.returnPressed.emit()
    for image_id in ("test_00001", "test_00002"):  # two images the labeler marked done
        project.save_labels(image_id, _sized(project, image_id), done=True)
        window.navigator.set_status(image_id, "done")
    review_action = next(a for a in window.actions() if a.text() == "&Review Done Images")
    review_action.trigger()
    qtbot.waitUntil(lambda: window.image_id == "test_00001" and window.rgb is not None, timeout=10_000)
    assert window.navigator.shown() == ["test_00001", "test_00002"]  # the list shows the done images
    window.review_accept()
    qtbot.waitUntil(lambda: window.image_id == "test_00002" and window.rgb is not None, timeout=10_000)
    window.review_send_back("the heart's left edge is missing")
    assert project.image_status("test_00002") == "review" and project.image_status("test_00001") == "done"
    assert project.ids_with_status("done") == ["test_00001"]  # exports and training leave it out
    meta = json.loads((photos / "project.json").read_text())
    assert meta["status"]["test_00002"] == "review"
    saved = json.loads((photos / "review.json").read_text())
    assert saved["test_00002"] == {"state": "sent back", "note": "the heart's left edge is missing"}
    assert saved["test_00001"]["state"] == "accepted"
    assert "Review finished" in window.statusBar().currentMessage()
    window.close()
    # the next session: the list says "needs review", the note is in the tooltip and filter
    again = make_window()
    again.open_path(photos)
    qtbot.waitUntil(lambda: again.rgb is not None, timeout=10_000)
    nav = again.navigator
    assert "needs review" in nav._items["test_00002"].text()
    assert "left edge is missing" in nav._items["test_00002"].toolTip()
    nav.filter.setCurrentIndex(4)
    assert nav.shown() == ["test_00002"]
    nav.image_chosen.emit("test_00002")
    assert "left edge is missing" in again.statusBar().currentMessage()


def _sized(project, image_id):
    from core.io.image import image_size

    w, h = image_size(project.images[image_id])
    return np.zeros((h, w), np.uint8)


def test_review_file_errors_name_the_file(tmp_path, photos):
    from core.annotation import Project

    project = Project.open_folder(photos)
    (project.root / "review.json").write_text("[1, 2]")
    with pytest.raises(ReviewError, match="review.json"):
        Review(project)
    (project.root / "review.json").write_text("{not json")
    with pytest.raises(ReviewError, match="(?i)move it away"):
        Review(project)
    (project.root / "review.json").unlink()
    with pytest.raises(ReviewError, match="not an image"):
        Review(project).send_back("nope", "x")
