"""The one naming rule (core.data.names): every name it accepts survives labelmap.txt and the list files unchanged;
every name it refuses is refused with a message naming it; class folders never collide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter, LayoutDataset
from core.data.names import (
    MAX_NAME_LENGTH,
    check_class_name,
    check_image_id,
    class_folder_name,
    class_folder_names,
)
from core.errors import DatasetError, InvalidNameError

BAD_CLASS_NAMES = {
    "carriage-return": ("red\rcircle", "U+000D"),
    "line-feed": ("red\ncircle", "U+000A"),
    "line-separator": ("red\u2028circle", "U+2028"),
    "paragraph-separator": ("red\u2029circle", "U+2029"),
    "tab": ("red\tcircle", "U+0009"),
    "nul": ("red\x00circle", "U+0000"),
    "next-line-c1": ("red\x85circle", "U+0085"),
    "file-separator": ("red\x1ccircle", "U+001C"),
    "lone-surrogate": ("red\udcffcircle", "surrogate"),
    "leading-space": (" red circle", "white space"),
    "trailing-nbsp": ("red circle\xa0", "white space"),
    "empty": ("", "empty"),
    "blank": ("   ", "empty"),
    "colon": ("red:circle", "':'"),
    "comment": ("#1 circle", "'#'"),
    "too-long": ("y" * (MAX_NAME_LENGTH + 1), "longer than"),
}

GOOD_CLASS_NAMES = ["background", "red circle", "red_circle", "Red Circle", "tv/monitor", "chat 🐱", "001.Black_footed",
                    "a,b", "x#y", "wall-concrete", "naïve", "家", "👨\u200d👩\u200d👧", "c" * MAX_NAME_LENGTH]


@pytest.mark.parametrize("name,needle", BAD_CLASS_NAMES.values(), ids=BAD_CLASS_NAMES.keys())
def test_bad_class_names_are_refused_naming_them(name: str, needle: str) -> None:
    with pytest.raises(InvalidNameError, match="class name") as info:
        check_class_name(name)
    message = str(info.value)
    assert needle in message and "\n" not in message and "\r" not in message
    assert isinstance(info.value, DatasetError) and isinstance(info.value, ValueError)
    with pytest.raises(InvalidNameError):  # the label map refuses it before anything is written
        LabelMap.from_names(["background", name])


def test_a_very_long_name_is_quoted_short() -> None:
    with pytest.raises(InvalidNameError) as info:
        check_class_name("y" * 5000)
    assert "yyyyyyyy" in str(info.value) and len(str(info.value)) < 400


def test_a_non_string_name_is_refused() -> None:
    with pytest.raises(InvalidNameError, match="not a string"):
        check_class_name(5)


def test_good_names_survive_labelmap_txt_and_unseen_txt(tmp_path: Path) -> None:
    labelmap = LabelMap.from_names(GOOD_CLASS_NAMES)
    with DatasetWriter(tmp_path, labelmap, unseen=GOOD_CLASS_NAMES[1:]) as writer:
        writer.add("a", np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), split="train")
    dataset = LayoutDataset(tmp_path)
    assert dataset.classes == tuple(GOOD_CLASS_NAMES)
    assert dataset.unseen == tuple(GOOD_CLASS_NAMES[1:])


BAD_IDS = {
    "newline": ("a\nb", "U+000A"),
    "carriage-return": ("a\rb", "U+000D"),
    "line-separator": ("a\u2028b", "U+2028"),
    "leading-space": (" a", "white space"),
    "trailing-space": ("a ", "white space"),
    "leading-hash": ("#a", "'#'"),
    "hidden": (".a", "hidden"),
    "slash": ("a/b", "path separator"),
    "backslash": ("a\\b", "path separator"),
    "empty": ("", "empty"),
}


@pytest.mark.parametrize("stem,needle", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_bad_image_ids_are_refused_before_a_split_list_is_written(stem: str, needle: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError, match="image id") as info:
        check_image_id(stem)
    assert needle in str(info.value)
    writer = DatasetWriter(tmp_path, LabelMap.from_names(["background", "cat"]))
    with pytest.raises(InvalidNameError):
        writer.add(stem, np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), split="train")
    assert not list((tmp_path / "JPEGImages").iterdir()) and not list((tmp_path / "SegmentationClass").iterdir())


def test_odd_but_valid_ids_round_trip_through_split_lists(tmp_path: Path) -> None:
    ids = ["a b", "a#b", "é 画像", "a.b.c", "-x", "x_1"]
    with DatasetWriter(tmp_path, LabelMap.from_names(["background", "cat"])) as writer:
        for sample_id in ids:
            writer.add(sample_id, np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), split="train")
    dataset = LayoutDataset(tmp_path)
    assert dataset.ids("train") == ids
    assert [dataset.image(i).shape for i in ids] == [(4, 4, 3)] * len(ids)


def test_a_split_list_with_a_bad_id_names_file_and_line(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, LabelMap.from_names(["background", "cat"])) as writer:
        writer.add("a", np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), split="train")
    (tmp_path / "ImageSets" / "Segmentation" / "train.txt").write_text("a\n.hidden\n")
    with pytest.raises(InvalidNameError, match=r"train\.txt:2: image id '\.hidden'"):
        LayoutDataset(tmp_path).ids("train")


def test_hidden_files_are_not_images_or_labels(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, LabelMap.from_names(["background", "cat"])) as writer:
        writer.add("a", np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8))
    (tmp_path / "SegmentationClass" / ".a.png").write_bytes(b"half a save")
    (tmp_path / "JPEGImages" / ".a.png").write_bytes(b"half a save")
    dataset = LayoutDataset(tmp_path)
    assert dataset.ids("all") == ["a"]
    with pytest.raises(DatasetError, match="no image for id"):
        dataset.image_path(".a")


def test_a_split_name_is_a_file_name_too(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path, LabelMap.from_names(["background", "cat"]))
    with pytest.raises(InvalidNameError):
        writer.add("a", np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), split="../escape")


def test_class_folders_never_collide() -> None:
    names = ["red circle", "red_circle", "Red circle", "red  circle", "red-circle", "Cat", "cat", "CON", "con",
             "naïve", "naive", "家", "🐱", "🐶", ".", "..", "x" * MAX_NAME_LENGTH, "x" * (MAX_NAME_LENGTH - 1) + "X"]
    folders = class_folder_names(names)
    lowered = [f.lower() for f in folders.values()]
    assert len(set(lowered)) == len(names)
    assert folders["red_circle"] == "red_circle" and folders["cat"] == "cat"
    for folder in folders.values():
        assert len(folder.encode()) <= 120 and folder not in (".", "..")
        assert all(c.isascii() and (c.isalnum() or c in "_-~") for c in folder), folder
    assert class_folder_name("red circle") == class_folder_name("red circle")  # stable across runs


def test_class_folder_names_refuses_a_repeated_class() -> None:
    with pytest.raises(InvalidNameError, match="share the folder"):
        class_folder_names(["cat", "cat"])
