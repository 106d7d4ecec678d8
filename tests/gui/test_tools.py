"""The editing tools and habits, driven through real widgets: brush size in screen pixels and remembered, the brush
outline, class hotkeys, the class field handing the keyboard back, the shortcut table and Help sheet, click to
refine, polygon / lasso and flood fill, view adjustments, zoom and cursor captions, the image list's filter."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence

from core.io.image import read_image, write_image
from gui.menus import saved_brush
from gui.shortcuts import SHORTCUTS, sheet_html


def open_big(qtbot, window, tmp_path, h=3000, w=4000):
    """A 4000x3000 photo: a bright disk on a dark ground (clear edges for refine and fill)."""
    folder = tmp_path / "big"
    folder.mkdir()
    yy, xx = np.mgrid[:h, :w]
    rgb = np.full((h, w, 3), 30, np.uint8)
    rgb[(yy - h // 2) ** 2 + (xx - w // 2) ** 2 < (h // 4) ** 2] = (220, 200, 40)
    write_image(folder / "photo.jpg", rgb)
    rgb = read_image(folder / "photo.jpg")
    assert window.open_path(folder)
    qtbot.waitUntil(lambda: window.rgb is not None and window.rgb.shape == (h, w, 3), timeout=20_000)
    window.classes.entry.setText("yellow disk")
    qtbot.keyClick(window.classes.entry, Qt.Key.Key_Return)
    window.draft = False  # the labels are the user's: a late prediction must not overwrite them
    window.history.labels[...] = 0
    return rgb


def click(qtbot, window, x, y, button=Qt.MouseButton.LeftButton):
    pos = window.canvas.mapFromScene(x + 0.5, y + 0.5)
    qtbot.mousePress(window.canvas.viewport(), button, pos=pos)
    qtbot.mouseRelease(window.canvas.viewport(), button, pos=pos)


def test_brush_in_screen_pixels_remembered_with_outline(qtbot, make_window, tmp_path):
    window = make_window()
    open_big(qtbot, window, tmp_path)
    window.controls.brush.setValue(15)
    canvas = window.canvas
    scale = canvas.transform().m11()
    assert scale < 0.5  # the whole 4000x3000 photo fits the window
    assert abs(canvas.brush_radius() * 2 * scale - 15) < 0.01  # 15 screen pixels, not 15 image pixels
    window.controls.set_tool("brush")
    click(qtbot, window, 400, 400)
    painted = np.argwhere(window.history.labels == 1)
    width = painted[:, 1].max() - painted[:, 1].min() + 1
    assert width > 15 / scale * 0.8  # not a hairline: tens of image pixels wide
    qtbot.mouseMove(canvas.viewport(), canvas.mapFromScene(1000.5, 1000.5))
    assert canvas.cursor_item.isVisible()
    assert abs(canvas.cursor_item.rect().width() - 15 / scale) < 1  # the outline is the brush's size
    center = canvas.cursor_item.rect().center()  # under the cursor, within one screen pixel
    assert abs(center.x() - 1000.5) <= 1 / scale and abs(center.y() - 1000.5) <= 1 / scale
    assert abs(canvas.cursor_pos[0] - 1000) <= 1 / scale
    # zooming in keeps the brush 15 screen pixels: fewer image pixels
    canvas.zoom(4)
    assert abs(canvas.brush_radius() * 2 * canvas.transform().m11() - 15) < 0.01
    # the size comes back in the next run; junk in the settings file reads as the default
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    size = window.controls.brush.value()
    assert size > 15
    window.close()
    again = make_window()
    assert again.controls.brush.value() == size and again.canvas.brush_size == size
    assert saved_brush("27") == 27 and saved_brush("x") == 15 and saved_brush(10_000) == 15
    assert saved_brush(True) == 15 and saved_brush([3]) == 15


def test_class_hotkeys_and_the_field_gives_the_keyboard_back(qtbot, make_window, photos):
    window = make_window()
    assert window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    entry = window.classes.entry
    for name in ("table", "chair", "lamp"):
        entry.setFocus()
        entry.setText(name)
        qtbot.keyClick(entry, Qt.Key.Key_Return)
        assert window.focusWidget() is window.canvas  # keys are shortcuts again, not typed into the field
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(lambda: window.canvas.hasFocus(), timeout=5_000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    assert window.classes.current() == 1 and window.canvas.value == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_1)
    assert window.canvas.value == 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_9)  # no ninth class: nothing changes
    assert window.canvas.value == 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_0)  # fit, not typed into the field
    assert entry.text() == "" and window.project.names == ["table", "chair", "lamp"]


def test_shortcut_table_drives_menus_and_help(qtbot, make_window):
    window = make_window()
    every = [k for row in SHORTCUTS for k in row[3]]
    assert len(every) == len(set(every))  # no key does two things
    bound = {QKeySequence(k).toString() for a in window.actions() for k in [s.toString() for s in a.shortcuts()]}
    for row in SHORTCUTS:
        for k in row[3]:
            assert QKeySequence(k).toString() in bound, row
    help_action = next(a for a in window.actions() if a.text() == "&Keyboard and Mouse…")
    help_action.trigger()
    sheet = window.shortcut_sheet
    assert sheet.isVisible()
    text = sheet.text.toPlainText()
    for row in SHORTCUTS:
        assert row[3][0] in text
    assert "Click to Refine" in sheet_html() and "Right" not in sheet_html().split("Mouse")[0][:0]


def test_refine_polygon_fill_and_view(qtbot, make_window, tmp_path):
    window = make_window()
    rgb = open_big(qtbot, window, tmp_path, 1200, 1600)  # coordinates below are in 4000x3000 units / 2.5
    truth = rgb[..., 0] > 125
    canvas = window.canvas
    # click to refine: one left click inside the disk grows the class to the disk's edges
    window.controls.set_tool("refine")
    click(qtbot, window, 800, 600)
    mask = window.history.labels == 1
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.9, iou
    assert window.history.can_undo
    window.undo_action.trigger()
    assert not (window.history.labels == 1).any()  # one click = one undo step
    assert canvas._seeds[0][2] != window.history.version  # an undone click no longer seeds the next one
    # right click cuts: first paint the whole image, then cut at the dark ground
    window.history.labels[...] = 1
    click(qtbot, window, 80, 80, Qt.MouseButton.RightButton)
    left = window.history.labels == 1
    assert (left & ~truth).sum() < 0.1 * (~truth).sum() and (left & truth).sum() > 0.9 * truth.sum()
    window.history.labels[...] = 0
    # flood fill: the dark ground under the cursor, not the disk
    window.controls.set_tool("fill")
    click(qtbot, window, 40, 40)
    filled = window.history.labels == 1
    assert (filled & ~truth).sum() > 0.98 * (~truth).sum() and (filled & truth).sum() < 0.01 * truth.sum()
    click(qtbot, window, 40, 40, Qt.MouseButton.RightButton)
    assert not (window.history.labels == 1).any()
    # polygon: three corners and Enter fill the triangle; Escape cancels another
    window.controls.set_tool("polygon")
    for x, y in ((40, 40), (440, 40), (40, 440)):
        click(qtbot, window, x, y)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    labels = window.history.labels
    assert labels[80, 80] == 1 and labels[400, 400] == 0 and 70_000 < (labels == 1).sum() < 90_000
    for x, y in ((800, 800), (1000, 800), (800, 1000)):
        click(qtbot, window, x, y)
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert labels[840, 840] == 0 and canvas.polygon == []
    # lasso: a drag fills on release
    view = canvas.viewport()
    path = [(1200 + 240 * np.cos(a), 600 + 240 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 30)]
    pts = [canvas.mapFromScene(x, y) for x, y in path]
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(view, p)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pts[-1])
    assert labels[600, 1200] == 1 and labels[600, 1500] == 0
    # brightness / gamma change only the view
    before = window.history.labels.copy()
    window.controls.gamma.setValue(170)  # gamma 2: shadows lifted (a 2-MP photo: adjusted off the UI thread)
    qtbot.waitUntil(lambda: canvas.image_item.array[5, 5, 0] > rgb[5, 5, 0] + 40, timeout=10_000)
    assert np.array_equal(window.history.labels, before) and np.array_equal(window.rgb, rgb)
    window.controls.reset_photo_view()
    assert canvas.image_item.array[5, 5, 0] == rgb[5, 5, 0]


def test_captions_legend_and_image_filter(qtbot, make_window, photos, tmp_path):
    window = make_window()
    assert window.open_path(photos)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    canvas = window.canvas
    canvas.fit()
    zoom = canvas.zoom_percent
    canvas.zoom(1.25)
    assert canvas.zoom_percent == round(zoom * 1.25)
    qtbot.mouseMove(canvas.viewport(), canvas.mapFromScene(10.5, 12.5))
    assert canvas.cursor_pos == (10, 12)
    qtbot.mouseMove(canvas.viewport(), QPoint(2, 2))  # off the image: no stale coordinates
    assert canvas.cursor_pos is None
    window.controls.layer.setCurrentIndex(1)
    assert canvas.legend == "heatmap"
    grab = canvas.viewport().grab().toImage()
    assert not grab.isNull()
    # the image list: status filter and name search
    nav = window.navigator
    assert len(nav.shown()) == 4
    nav.filter.setCurrentIndex(1)  # unlabeled
    assert "test_00000" in nav.shown()
    nav.set_status("test_00000", "done")
    assert "test_00000" not in nav.shown()
    nav.filter.setCurrentIndex(3)  # done
    assert nav.shown() == ["test_00000"]
    nav.filter.setCurrentIndex(0)
    nav.search.setText("corrupt")
    assert nav.shown() == ["test_00001b_corrupt"]
    window.navigator.focus_search()
    assert window.focusWidget() is nav.search
