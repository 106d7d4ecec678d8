"""zerolabel's dataset layout: write, read back identically, clear errors on malformed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter, LayoutDataset
from core.data.unlabeled import UnlabeledFolder
from core.data.zeroshot import ProtocolError, ZeroShotView, assert_no_unseen
from core.errors import DatasetError


def _write_tiny(root: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    lm = LabelMap.from_names(["background", "cat", "dog", "sea lion"])
    rng = np.random.default_rng(0)
    images, labels = {}, {}
    with DatasetWriter(root, lm, unseen=["sea lion"]) as writer:
        for i, classes in enumerate([[1], [1, 2], [2, 3], [3]]):
            rgb = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
            lab = np.zeros((12, 16), np.uint8)
            for k, c in enumerate(classes):
                lab[2 + 4 * k : 5 + 4 * k, 3:9] = c
            lab[0, :] = 255
            sid = f"img{i}"
            writer.add(sid, rgb, lab, split="train" if i < 3 else "val")
            images[sid], labels[sid] = rgb, lab
    return images, labels


def test_round_trip(tmp_path: Path) -> None:
    images, labels = _write_tiny(tmp_path)
    ds = LayoutDataset(tmp_path)
    assert ds.classes == ("background", "cat", "dog", "sea lion")
    assert ds.unseen == ("sea lion",)
    assert ds.seen == ("cat", "dog")
    assert ds.splits() == ("train", "val")
    assert ds.ids("train") == ["img0", "img1", "img2"]
    for sid in images:
        assert np.array_equal(ds.image(sid), images[sid])
        assert np.array_equal(ds.label(sid), labels[sid])
    text = (tmp_path / "labelmap.txt").read_text(encoding="utf-8").splitlines()
    assert text[0] == "# label:color_rgb:parts:actions"
    assert text[1] == "background:0,0,0::" and text[2] == "cat:128,0,0::"
    with Image.open(tmp_path / "SegmentationClass" / "img0.png") as img:
        assert img.mode == "P"


def test_cvat_colour_masks_are_mapped(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    labels = LayoutDataset(tmp_path).label("img1")
    palette = LabelMap.read(tmp_path / "labelmap.txt").palette()
    Image.fromarray(palette[labels]).save(tmp_path / "SegmentationClass" / "img1.png")  # RGB, as CVAT exports
    assert np.array_equal(LayoutDataset(tmp_path).label("img1"), labels)


def test_unknown_colour_and_unknown_index(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    rgb = np.zeros((12, 16, 3), np.uint8)
    rgb[3, 3] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "SegmentationClass" / "img0.png")
    with pytest.raises(DatasetError, match=r"colour \(1, 2, 3\)"):
        LayoutDataset(tmp_path).label("img0")
    bad = np.zeros((12, 16), np.uint8)
    bad[1, 1] = 17
    Image.fromarray(bad, mode="L").save(tmp_path / "SegmentationClass" / "img2.png")
    with pytest.raises(DatasetError, match=r"img2.png.*\[17\]"):
        LayoutDataset(tmp_path).label("img2")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("# label:color_rgb:parts:actions\ncat:1,2,3::\n", "first class must be 'background'"),
        ("background:0,0,0::\ncat:1,2::\n", "labelmap.txt:2"),
        ("background:0,0,0::\ncat:1,2,3::\ncat:4,5,6::\n", "listed twice"),
        ("background:0,0,0::\ncat:0,0,0::\n", "share a colour"),
        ("# only a comment\n", "lists no classes"),
    ],
)
def test_malformed_labelmap(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "labelmap.txt").write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=match):
        LabelMap.read(tmp_path / "labelmap.txt")


def test_missing_pieces_are_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such dataset folder"):
        LayoutDataset(tmp_path / "absent")
    with pytest.raises(DatasetError, match="labelmap.txt"):
        LayoutDataset(tmp_path)
    _write_tiny(tmp_path)
    with pytest.raises(DatasetError, match="no such split.*train, val"):
        LayoutDataset(tmp_path).ids("test")
    (tmp_path / "unseen.txt").write_text("zebra\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="'zebra'"):
        LayoutDataset(tmp_path)


def test_zero_shot_views(tmp_path: Path) -> None:
    _, labels = _write_tiny(tmp_path)
    ds = LayoutDataset(tmp_path)
    drop = ZeroShotView(ds, mode="drop")
    assert drop.ids("train") == ["img0", "img1"]
    assert drop.dropped["train"] == ["img2"]
    with pytest.raises(ProtocolError):
        drop.label("img2")
    ignore = ZeroShotView(ds, mode="ignore")
    assert ignore.ids("train") == ["img0", "img1", "img2"]
    lab = ignore.label("img2")
    assert not (lab == 3).any()
    assert (lab[labels["img2"] == 3] == 255).all()
    assert np.array_equal(lab[labels["img2"] != 3], labels["img2"][labels["img2"] != 3])
    for view in (drop, ignore):
        for sid in view.ids("train"):
            assert_no_unseen(view.label(sid), view.unseen_indices)
    with pytest.raises(ProtocolError):
        assert_no_unseen(labels["img2"], [3])
    with pytest.raises(ValueError, match="unknown zero-shot view"):
        ZeroShotView(ds, mode="both")


def test_unlabeled_folder_reports_and_skips(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    Image.new("RGB", (4, 3), (1, 2, 3)).save(tmp_path / "a" / "one.PNG")
    Image.new("L", (5, 5), 9).save(tmp_path / "a" / "b" / "two.jpg")
    (tmp_path / "a" / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    (tmp_path / ".hidden.png").write_bytes(b"")
    folder = UnlabeledFolder(tmp_path)
    assert [p.name for p in folder.paths] == ["broken.jpg", "one.PNG", "two.jpg"]
    loaded = [(p.name, img.shape) for p, img in folder]
    assert loaded == [("one.PNG", (3, 4, 3)), ("two.jpg", (5, 5, 3))]
    assert [p.name for p, _ in folder.failures] == ["broken.jpg"]
    assert "broken.jpg" in folder.failures[0][1]
