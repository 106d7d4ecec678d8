"""Real photos in the app, through real widgets on the built-in photo model: the sample photos with starting
classes, the coverage flag for names no ImageNet concept supports, and teaching a class by strokes."""

from __future__ import annotations

import shutil

import cv2
import pytest
from PySide6.QtCore import Qt

from core.photo import sample_photos_folder
from core.photo.names import unsupported_message
from gui.teach import HEAD_FILE, PHOTO_CLASSES


@pytest.fixture
def photo_window(qtbot):
    from gui.app import settings
    from gui.main_window import MainWindow

    def make():
        window = MainWindow(settings())
        window.recovery_policy = window.close_policy = "discard"
        qtbot.addWidget(window)
        window.use_builtin("photos")
        window.show()
        qtbot.waitUntil(lambda: window.model_info[1] != "", timeout=60_000)
        return window

    return make


def type_class(qtbot, window, name):
    window.classes.entry.setText(name)
    qtbot.keyClick(window.classes.entry, Qt.Key.Key_Return)


def brush(qtbot, window, points, image_pixels):
    """One brush stroke through image points, the brush ``image_pixels`` wide at the current zoom."""
    window.controls.brush.setValue(max(1, round(image_pixels * window.canvas.transform().m11())))
    view = window.canvas.viewport()
    pos = [window.canvas.mapFromScene(x + 0.5, y + 0.5) for x, y in points]
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=pos[0])
    for p in pos[1:]:
        qtbot.mouseMove(view, p)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pos[-1])


def test_sample_photos_open_with_classes_and_unsupported_names_are_flagged(qtbot, photo_window):
    window = photo_window()
    assert window.open_samples("photos")
    assert window.project.names == list(PHOTO_CLASSES) and window.image_id == "astronaut"
    qtbot.waitUntil(lambda: window.result is not None and window.result.names == PHOTO_CLASSES, timeout=60_000)
    assert "imagenet-concepts" in window.status_model.text() and "CPU" in window.status_model.text()
    person = PHOTO_CLASSES.index("person") + 1
    assert (window.history.labels == person).mean() > 0.1  # the astronaut is found with no labels given
    type_class(qtbot, window, "sky")
    qtbot.waitUntil(lambda: "sky" in window.classes.unknown, timeout=30_000)
    item = window.classes.list.item(len(PHOTO_CLASSES))
    assert unsupported_message("sky") in item.toolTip() and "Teach from strokes" in item.toolTip()
    assert item.foreground().color().red() > 200
    qtbot.waitUntil(lambda: window.result is not None and len(window.project.names) == 6
                    and "sky" not in window.result.names, timeout=30_000)
    assert not (window.history.labels == 6).any()  # never drawn, not even faintly
    assert window.heatmap(5) is None


def two_sky_photos(tmp_path):
    """The pagoda photo and a second view of the same scene (its right part, mirrored) as another file."""
    folder = tmp_path / "lake"
    folder.mkdir()
    shutil.copy(sample_photos_folder() / "china.jpg", folder / "a_pagoda.jpg")
    rgb = cv2.imread(str(sample_photos_folder() / "china.jpg"))
    cv2.imwrite(str(folder / "b_view.jpg"), cv2.flip(rgb[:, 240:], 1))
    return folder


def test_teach_sky_by_strokes_predicts_it_on_the_next_image_and_is_saved(qtbot, photo_window, tmp_path):
    window = photo_window()
    assert window.open_path(two_sky_photos(tmp_path))
    for name in ("tree", "sky"):
        type_class(qtbot, window, name)
    qtbot.waitUntil(lambda: window.result is not None and "sky" in window.classes.unknown, timeout=60_000)
    assert window.image_id == "a_pagoda"
    # a few strokes of sky (upper left), and of what it is not with the eraser (trees, pagoda, water)
    window.classes.list.setCurrentRow(1)
    brush(qtbot, window, [(20, 20), (150, 25), (250, 60)], 16)
    brush(qtbot, window, [(560, 30), (620, 15)], 16)
    window.controls.set_tool("eraser")
    brush(qtbot, window, [(20, 300), (150, 400), (600, 410)], 16)
    brush(qtbot, window, [(340, 150), (350, 300)], 16)
    brush(qtbot, window, [(420, 230), (520, 240)], 16)
    window.controls.set_tool("brush")
    assert window.classes.teach.text() == "Teach from strokes" and window.teach_action.shortcut().toString() == "Ctrl+L"
    window.classes.teach.click()
    qtbot.waitUntil(lambda: window.taught_classes == ["sky"] or window.last_error is not None, timeout=30_000)
    assert window.last_error is None and window.taught_classes == ["sky"], window.last_error
    assert (window.project.root / HEAD_FILE).is_file() and window.teach_seconds < 30
    qtbot.waitUntil(lambda: "sky" not in window.classes.unknown, timeout=30_000)  # taught: no longer flagged
    print(f"\nteach 'sky' from strokes on a 640x427 photo: {window.teach_seconds * 1000:.0f} ms")
    # the other image: sky at the top, nothing of it at the bottom
    window.step_image(1)
    qtbot.waitUntil(lambda: window.image_id == "b_view" and window.result is not None
                    and "sky" in window.result.taught, timeout=60_000)
    labels = window.history.labels
    h = labels.shape[0]
    top, bottom = (labels[: h // 6] == 2).mean(), (labels[-h // 4:] == 2).mean()
    assert top > 0.6 and bottom < 0.1, (top, bottom)
    assert window.heatmap(1).shape == labels.shape and window.heatmap(1)[:h // 6].mean() > 0.5
    assert "sky" not in window.classes.unknown
    assert window.classes.list.item(1).text().startswith("sky") and "strokes" in window.classes.list.item(1).toolTip()
    # more strokes on this image refine it: their samples join the first ones
    before = len(window.worker.head.samples["sky"])
    window.classes.list.setCurrentRow(1)
    brush(qtbot, window, [(30, 10), (300, 12)], 12)
    window.teach_strokes()
    qtbot.waitUntil(lambda: len(window.worker.head.samples["sky"]) > before, timeout=30_000)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Taught sky"), timeout=30_000)
    window.close()
    # reopened: the taught class comes back from the project folder
    again = photo_window()
    assert again.open_path(window.project.root)
    qtbot.waitUntil(lambda: again.taught_classes == ["sky"] and again.result is not None
                    and "sky" in again.result.taught, timeout=60_000)
    draft = again.pred_labels  # the model's draft (the opened image keeps the labels painted on it)
    assert (draft[: draft.shape[0] // 6] == 2).mean() > 0.5


def test_teaching_without_strokes_or_on_the_shapes_model_says_what_to_do(qtbot, photo_window, tmp_path):
    window = photo_window()
    assert window.open_path(two_sky_photos(tmp_path))
    type_class(qtbot, window, "sky")
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=30_000)
    window.teach_strokes()
    assert window.last_error[0] == "No strokes to teach from"
    window.classes.list.setCurrentRow(0)
    brush(qtbot, window, [(20, 20), (150, 25)], 16)
    window.teach_strokes()  # only strokes of sky and no other class: the head asks for strokes of what it is not
    qtbot.waitUntil(lambda: window.last_error[0] == "Could not teach from the strokes", timeout=30_000)
    assert "what is not 'sky'" in window.last_error[1]
    window.use_builtin("shapes")
    qtbot.waitUntil(lambda: window.model_info[1] != "" and window.model_info[2] != "imagenet-concepts",
                    timeout=30_000)
    brush(qtbot, window, [(20, 20), (150, 25)], 16)
    window.teach_strokes()
    qtbot.waitUntil(lambda: "no stroke features" in window.last_error[1], timeout=30_000)


def test_command_line_opens_the_sample_photos_on_the_photo_model(qtbot):
    from gui.app import build_parser, create_window, default_model, open_initial

    parse = build_parser().parse_args
    assert default_model(parse([])) == "photos" and default_model(parse(["--samples"])) == "photos"
    assert default_model(parse(["--samples", "shapes"])) == "shapes"
    assert default_model(parse(["--smoke", "out"])) == "shapes"  # the smoke check's default classes are shapes
    args = parse(["--samples"])
    window = create_window(args)
    window.recovery_policy = window.close_policy = "discard"
    qtbot.addWidget(window)
    open_initial(window, args)
    assert window.project.names == list(PHOTO_CLASSES)
    qtbot.waitUntil(lambda: window.result is not None and window.result.names == PHOTO_CLASSES, timeout=60_000)
    assert "text: imagenet-concepts" in window.status_model.text()
