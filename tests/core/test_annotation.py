"""The Qt-free annotation document: undo atoms, the project on disk, remapping, recovery, exports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.annotation import History, Project, ProjectError
from core.annotation.export import export
from core.formats.rle import rle_decode, rle_encode
from core.io.image import read_image, read_label_png, write_image


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    images = tmp_path / "photos"
    images.mkdir()
    for name in ("b", "a", "c"):
        write_image(images / f"{name}.png", rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
    return images


def test_history_stroke_is_one_step_and_redo_restores():
    labels = np.zeros((10, 10), np.uint8)
    h = History(labels)
    with h.stroke():
        h.paint(np.arange(5), 1)
        h.paint(np.arange(3, 8), 2)  # overlaps the first paint
    h.paint(np.array([99]), 3)
    after = labels.copy()
    assert h.undo() and labels.reshape(-1)[99] == 0
    assert labels.reshape(-1)[:8].tolist() == [1, 1, 1, 2, 2, 2, 2, 2]
    assert h.undo() and labels.sum() == 0
    assert not h.undo()
    assert h.redo() and h.redo() and np.array_equal(labels, after)
    assert not h.redo()


def test_history_memory_is_bounded():
    labels = np.zeros((100, 100), np.uint8)
    h = History(labels, max_bytes=20_000)
    for value in range(1, 30):
        h.paint(np.arange(1000), value)
    assert h.nbytes <= 20_000
    undone = 0
    while h.undo():
        undone += 1
    assert 0 < undone < 29
    assert labels.reshape(-1)[0] != 0  # the oldest steps are gone, not the map


def test_project_on_plain_folder_saves_in_dataset_layout(folder):
    p = Project.open_folder(folder)
    assert p.ids == ["a", "b", "c"] and p.root == folder.resolve()
    p.add_class("sea lion")
    p.add_class("rock")
    with pytest.raises(ProjectError, match="already"):
        p.add_class("Sea  Lion")
    labels = np.zeros((20, 30), np.uint8)
    labels[5:10, 5:10] = 1
    labels[0, :] = 2
    p.save_labels("b", labels)
    assert p.image_status("b") == "draft" and p.next_unlabeled("a") == "c"
    assert np.array_equal(read_label_png(folder / "SegmentationClass" / "b.png"), labels)
    assert (folder / "labelmap.txt").read_text().splitlines()[1:] == [
        "background:0,0,0::", "sea lion:228,26,28::", "rock:152,78,163::"]
    again = Project.open_folder(folder)
    assert again.names == ["sea lion", "rock"] and again.image_status("b") == "draft"
    again.save_labels("b", labels, done=True)
    assert Project.load(folder).image_status("b") == "done"


def test_remove_and_move_class_renumber_saved_maps(folder):
    p = Project.open_folder(folder)
    for name in ("x", "y", "z"):
        p.add_class(name)
    labels = np.array([[0, 1, 2, 3, 255]], np.uint8).repeat(20, 0)[:, :5]
    p.save_labels("a", labels)
    p.autosave("c", labels)
    lut = p.remove_class(0)  # x goes: its pixels become background, y and z move down
    assert lut[1] == 0 and lut[2] == 1 and lut[255] == 255
    assert read_label_png(p.label_path("a"))[0].tolist() == [0, 0, 1, 2, 255]
    assert p.recover("c")[0].tolist() == [0, 0, 1, 2, 255]
    p.move_class(1, 0)  # z before y
    assert p.names == ["z", "y"]
    assert read_label_png(p.label_path("a"))[0].tolist() == [0, 0, 2, 1, 255]


def test_recovery_lists_unsaved_edits_until_saved(folder):
    p = Project.open_folder(folder)
    p.add_class("thing")
    edits = np.ones((20, 30), np.uint8)
    p.autosave("a", edits)
    assert Project.open_folder(folder).recoverable() == ["a"]
    assert p.image_status("a") == "draft"
    p.save_labels("a", p.recover("a"))
    assert p.recoverable() == [] and np.array_equal(p.load_labels("a"), edits)


def test_read_only_or_bundled_folder_gets_project_elsewhere(tmp_path):
    from core.inference.runtime import sample_images_folder

    p = Project.open_folder(sample_images_folder(), data_dir=tmp_path)
    assert tmp_path in p.root.parents and len(p.ids) >= 6
    assert p.names == [] or p.load_labels(p.ids[0]) is None  # ground truth of the samples is not our labels


def test_corrupt_project_file_names_the_file(folder):
    Project.open_folder(folder)
    (folder / "project.json").write_text("{not json")
    with pytest.raises(ProjectError, match="project.json"):
        Project.open_folder(folder)


def test_rle_round_trip():
    rng = np.random.default_rng(1)
    for mask in (rng.random((7, 9)) > 0.5, np.ones((3, 4), bool), np.zeros((2, 2), bool)):
        rle = rle_encode(mask)
        assert sum(rle["counts"]) == mask.size
        assert np.array_equal(rle_decode(rle), mask)


def test_exports(folder, tmp_path):
    p = Project.open_folder(folder)
    p.add_class("sea lion")
    p.add_class("rock")
    labels = np.zeros((20, 30), np.uint8)
    labels[2:6, 3:9] = 1
    labels[10:, :] = 2
    p.save_labels("a", labels)
    assert list(export(p, p.ids, "indexed", tmp_path / "idx")) == [(1, 1)]
    assert np.array_equal(read_label_png(tmp_path / "idx" / "a.png"), labels)
    list(export(p, p.ids, "colour", tmp_path / "col"))
    colour = read_image(tmp_path / "col" / "a.png")
    assert tuple(colour[3, 4]) == (228, 26, 28) and tuple(colour[15, 0]) == (152, 78, 163)
    list(export(p, p.ids, "coco", tmp_path / "coco.json"))
    doc = json.loads((tmp_path / "coco.json").read_text())
    assert [c["name"] for c in doc["categories"]] == ["sea lion", "rock"]
    first = doc["annotations"][0]
    assert first["bbox"] == [3, 2, 6, 4] and first["area"] == 24
    assert np.array_equal(rle_decode(first["segmentation"]), labels == 1)
    list(export(p, p.ids, "dataset", tmp_path / "ds"))
    from core.data.open import open_dataset

    ds = open_dataset(str(tmp_path / "ds"))
    assert np.array_equal(ds.label(ds.ids("train")[0]), labels)
