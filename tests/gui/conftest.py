"""GUI tests: real widgets offscreen (pytest-qt), isolated settings and data folders per test."""

from __future__ import annotations

import shutil

import pytest

from core.inference.runtime import sample_images_folder


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("ZEROLABEL_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("ZEROLABEL_DATA", str(tmp_path / "data"))


@pytest.fixture
def photos(tmp_path):
    """Three sample images in a plain folder, plus a corrupt one."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in sorted((sample_images_folder() / "JPEGImages").iterdir())[:3]:
        shutil.copy(path, folder / path.name)
    (folder / "test_00001b_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return folder


@pytest.fixture
def make_window(qtbot):
    from gui.app import settings
    from gui.main_window import MainWindow

    def make():
        window = MainWindow(settings())
        window.recovery_policy = window.close_policy = "discard"  # a modal question would hang a failing test
        qtbot.addWidget(window)
        window.load_model("")
        window.show()
        qtbot.waitUntil(lambda: window.model_info[1] != "", timeout=30_000)
        return window

    return make
