"""The canvas's layers on a real Canvas (offscreen): labels drawn from the label map itself with colours as a table,
borders and heatmaps built in the pool for large images, and a build that went stale (another image, a newer
request) never shown."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gui import render
from gui.overlay import edge_index, heat_index, label_rgba, label_tables

COLORS, VISIBLE = [(255, 0, 0), (0, 128, 255), (10, 200, 30)], [True, False, True]


@pytest.fixture
def canvas(qtbot):
    from gui.canvas import Canvas

    c = Canvas()
    c.resize(600, 400)
    qtbot.addWidget(c)
    c.show()
    return c


def blobs(h: int, w: int, seed: int = 0) -> np.ndarray:
    labels = np.zeros((h, w), np.uint8)
    rng = np.random.default_rng(seed)
    for v in (1, 2, 3, 1):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(labels, (x, y), int(rng.integers(h // 8, h // 3)), v, -1)
    return labels


def argb(table: list[int], index: np.ndarray) -> np.ndarray:
    t = np.array(table, np.uint32)[index]
    return np.stack([(t >> 16) & 255, (t >> 8) & 255, t & 255, t >> 24], -1).astype(np.uint8)


def test_colour_tables_and_borders_give_label_rgba():
    labels = blobs(120, 160)
    for opacity in (0.0, 0.4, 1.0):
        fill, border = label_tables(COLORS, VISIBLE, opacity)
        edges = edge_index(labels)
        shown = np.where((edges > 0)[..., None], argb(border, edges), argb(fill, labels))
        want = label_rgba(labels, COLORS, VISIBLE, opacity)
        assert np.array_equal(shown[..., 3], want[..., 3])
        seen = want[..., 3] > 0
        assert np.array_equal(shown[seen], want[seen])
    assert set(np.unique(edge_index(labels))) <= {0, 1, 2, 3} and edge_index(labels).any()


def test_large_labels_show_at_once_borders_follow_from_the_pool(qtbot, canvas):
    rgb = np.full((1500, 2000, 3), 90, np.uint8)  # 3 MP: borders are built off the UI thread
    labels = blobs(1500, 2000)
    canvas.set_image(rgb)
    canvas.show_labels(labels, 0, COLORS, VISIBLE, 0.5)
    assert canvas.labels_item.array is labels and canvas.image_item.array is rgb  # drawn as they are, no copy
    assert canvas.wait_layers()
    assert np.array_equal(canvas.edges_item.array, edge_index(labels))
    before = canvas.labels_item.image.color(1)
    canvas.show_labels(labels, 0, COLORS, VISIBLE, 0.9)  # opacity: a new table, nothing rebuilt
    assert canvas.labels_item.array is labels and "edges" not in canvas._pending
    assert canvas.labels_item.image.color(1) >> 24 == round(0.9 * 255) != before >> 24
    assert canvas.labels_item.image.color(2) >> 24 == 0  # a hidden class
    # a stroke: the map changes in place and only its region's borders are rebuilt
    labels[700:760, 100:1900] = 3
    canvas.labels_changed(700, 100, 760, 1900)
    assert np.array_equal(canvas.edges_item.array, edge_index(labels))


def test_a_stale_build_never_lands_on_another_image(qtbot, canvas):
    first, second = blobs(1500, 2000, 1), blobs(1500, 2000, 2)
    canvas.set_image(np.zeros((1500, 2000, 3), np.uint8))
    canvas.show_labels(first, 0, COLORS, VISIBLE, 0.5)
    canvas.show_heat(first, "a", lambda: np.full(first.shape, 0.9, np.float32), cv2.COLORMAP_TURBO, 0.85)
    canvas.set_image(np.zeros((1500, 2000, 3), np.uint8))  # the user switched before the builds finished
    assert canvas.wait_layers()
    assert canvas.edges_item.array is None and canvas.extra_item.array is None
    canvas.show_labels(second, 0, COLORS, VISIBLE, 0.5)
    canvas.show_heat(second, "b", lambda: np.full(second.shape, 0.9, np.float32), cv2.COLORMAP_TURBO, 0.85)
    canvas.show_heat(second, "c", lambda: np.full(second.shape, 0.2, np.float32), cv2.COLORMAP_TURBO, 0.85)
    assert canvas.wait_layers()
    assert np.array_equal(canvas.edges_item.array, edge_index(second))
    assert np.all(canvas.extra_item.array == heat_index(np.full((1, 1), 0.2))[0, 0])  # the newest request only


def test_small_images_are_built_on_the_ui_thread(canvas, monkeypatch):
    monkeypatch.setattr(render, "SYNC_PIXELS", 10_000)
    labels = blobs(80, 100)
    canvas.set_image(np.zeros((80, 100, 3), np.uint8))
    canvas.show_labels(labels, 0, COLORS, VISIBLE, 0.5)
    assert np.array_equal(canvas.edges_item.array, edge_index(labels)) and not canvas._pending
    canvas.show_heat(labels, "x", lambda: labels / 3.0, cv2.COLORMAP_MAGMA, 0.85)
    assert np.array_equal(canvas.extra_item.array, heat_index(labels / 3.0))
    canvas.adjust = (0.2, 1.0, 1.0)
    canvas._show_image()
    assert canvas.image_item.array[0, 0, 0] > 0
