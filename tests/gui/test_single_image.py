"""Opening one image writes nothing beside it: its project lives under the user data folder ($ZEROLABEL_DATA in
tests), unless the user opens the folder itself (File ▸ Open Folder)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.inference.runtime import sample_images_folder


def _single(tmp_path: Path) -> Path:
    folder = tmp_path / "holiday"
    folder.mkdir()
    for name in ("test_00001.png", "test_00002.png"):
        shutil.copy(sample_images_folder() / "JPEGImages" / name, folder / name)
    return folder


def test_a_single_image_opens_in_a_project_under_the_data_folder(qtbot, make_window, tmp_path):
    folder = _single(tmp_path)
    before = sorted(os.listdir(folder))
    data = Path(os.environ["ZEROLABEL_DATA"])
    window = make_window()
    assert window.open_path(folder / "test_00002.png")
    qtbot.waitUntil(lambda: window.image_id == "test_00002" and window.rgb is not None, timeout=10_000)
    assert data / "projects" in window.project.root.parents
    assert f"labels kept in {window.project.root}" in window.windowTitle()  # the user can find them
    window.classes.entry.setText("beach")
    window.classes.entry.returnPressed.emit()
    window.history.labels[:8, :8] = 1
    window.mark_done()
    window.flush()
    saved = window.project.root / "SegmentationClass" / "test_00002.png"
    assert saved.is_file() and window.project.image_status("test_00002") == "done"
    assert (window.project.root / "project.json").is_file()
    window.close()
    assert sorted(os.listdir(folder)) == before  # no project.json, labelmap.txt, lock or label maps beside it
    # the same image again: the same project, its labels and classes back
    again = make_window()
    again.open_path(folder / "test_00002.png")
    qtbot.waitUntil(lambda: again.rgb is not None, timeout=10_000)
    assert again.project.root == window.project.root and again.project.names == ["beach"]
    assert again.project.image_status("test_00002") == "done"
    again.close()
    assert sorted(os.listdir(folder)) == before


def test_open_folder_makes_the_folder_itself_the_project(qtbot, make_window, tmp_path):
    folder = _single(tmp_path)
    window = make_window()
    assert window.open_path(folder)  # File ▸ Open Folder
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    assert window.project.root == folder.resolve() and (folder / "project.json").is_file()
    window.close()
    # from then on, an image of that folder opens in the folder's project (no second copy under the data folder)
    again = make_window()
    again.open_path(folder / "test_00001.png")
    qtbot.waitUntil(lambda: again.rgb is not None, timeout=10_000)
    assert again.project.root == folder.resolve()
    assert not (Path(os.environ["ZEROLABEL_DATA"]) / "projects").exists()
