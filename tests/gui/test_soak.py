"""Soak: the app survives a long session (thousands of image switches, a folder of thousands of images).

A Qt binding that drops references to ``None`` kills the app after a few hundred switches; the probe at the start
turns that abort into a test failure, and the counts are checked again after the session.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from core.io.image import read_label_png

SWITCHES = 2_000
FOLDER_IMAGES = 3_000


def _write_images(folder, n: int, size: int = 8) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"img_{i:05d}.png"), rng.integers(0, 255, (size, size, 3), np.uint8))


def _none_drain_probe() -> None:
    from PySide6.QtWidgets import QListWidgetItem

    item, before = QListWidgetItem("x"), sys.getrefcount(None)
    for _ in range(200):
        item.setToolTip("tip")
    if sys.getrefcount(None) < before - 100:
        pytest.fail("this PySide6 build drops references to None on setToolTip; the app would abort "
                    "(none_dealloc); install the version pyproject.toml pins")


def test_switch_2000_times_and_open_3000_images(qtbot, tmp_path):
    from gui.app import settings
    from gui.main_window import MainWindow

    _none_drain_probe()
    small, big = tmp_path / "small", tmp_path / "big"
    _write_images(small, 20)
    _write_images(big, FOLDER_IMAGES)
    window = MainWindow(settings())  # no model: the switches exercise loading, the navigator and the canvas
    window.recovery_policy = window.close_policy = "discard"
    qtbot.addWidget(window)
    window.show()
    counts = [sys.getrefcount(s) for s in (None, True, False)]
    assert window.open_path(small)
    window.project.add_class("a")
    window.project.add_class("b")
    ids = window.project.ids
    expected = {i: np.zeros((8, 8), np.uint8) for i in ids}
    for n in range(SWITCHES):
        window.show_image(ids[n % len(ids)])
        if n % 41 == 0:  # now and then wait for the image, and edit and leave it (a save through the disk thread)
            qtbot.waitUntil(lambda: window.history is not None, timeout=10_000)
            with window.history.stroke():
                window.history.paint(np.array([n % 64]), 1 + n % 2)
            window._edited()
            expected[ids[n % len(ids)]].flat[n % 64] = 1 + n % 2
    qtbot.waitUntil(lambda: window.image_id == ids[(SWITCHES - 1) % len(ids)] and window.rgb is not None,
                    timeout=10_000)
    assert window.open_path(big)
    assert window.navigator.count() == FOLDER_IMAGES
    assert window.navigator.wait_for_thumbnails(60_000)
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    for image_id in window.project.ids[:200]:
        window.show_image(image_id)
    qtbot.waitUntil(lambda: window.image_id == window.project.ids[199] and window.rgb is not None, timeout=10_000)
    qtbot.wait(50)
    after = [sys.getrefcount(s) for s in (None, True, False)]
    assert after[0] > counts[0] - 500 and after[1] > counts[1] - 500 and after[2] > counts[2] - 500, (counts, after)
    assert window.last_error is None
    for image_id in ids:  # every edit landed in the image it was made on
        assert np.array_equal(read_label_png(small / "SegmentationClass" / f"{image_id}.png"), expected[image_id])
    window.close()
