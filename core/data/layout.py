"""zerolabel's own dataset layout (VOC style), read and written; the app's exports use exactly this.

::

    ROOT/
      JPEGImages/<id>.jpg|.png        images (any suffix core.io reads)
      SegmentationClass/<id>.png      indexed PNG (VOC colour map), 0 = background, 255 = ignore;
                                      RGB colour masks (CVAT export) are mapped through labelmap.txt
      ImageSets/Segmentation/<split>.txt   one id per line
      labelmap.txt                    CVAT "Segmentation mask" style, background first
      unseen.txt                      optional: one unseen class name per line
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.base import IGNORE_INDEX, SegDataset
from core.data.labelmap import LabelMap
from core.data.names import check_class_name, check_image_id, is_valid_image_id
from core.errors import DatasetError, InvalidNameError
from core.io.atomic import atomic_write_text
from core.io.files import regular_file
from core.io.image import (
    IMAGE_SUFFIXES,
    NotIndexedError,
    read_image,
    read_label_png,
    write_image,
    write_label_png,
)

IMAGES = "JPEGImages"
LABELS = "SegmentationClass"
SETS = Path("ImageSets") / "Segmentation"
LABELMAP = "labelmap.txt"
UNSEEN = "unseen.txt"


def read_name_list(path: Path, check: Callable[[str], str] = check_class_name) -> list[str]:
    """Read one name per line, skipping blanks and ``#`` comments (UTF-8, a byte-order mark is dropped).

    Each name must pass ``check`` (:func:`check_class_name`, or :func:`check_image_id` for split lists); the
    error names the file and line.
    """
    if path.exists() and not path.is_dir():  # a FIFO or a device: refused before it is opened
        regular_file(path, "list file", DatasetError)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8, one name per line") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc}); it must be a text file") from exc
    names = []
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if name and not name.startswith("#"):
            try:
                names.append(check(name))
            except InvalidNameError as exc:
                raise InvalidNameError(f"{path}:{number}: {exc}") from None
    return names


def write_name_list(path: Path, names: Iterable[str], check: Callable[[str], str] = check_class_name) -> None:
    """Write one name per line, atomically; every name must pass ``check`` so that it reads back unchanged."""
    atomic_write_text(path, "".join(f"{check(n)}\n" for n in names))


class LayoutDataset(SegDataset):
    """A dataset folder in zerolabel's layout.

    Args:
        root: The dataset folder.
        unseen: Unseen class names; default: the folder's ``unseen.txt`` (none if absent).

    Example:
        >>> ds = LayoutDataset("/data/shapes")  # doctest: +SKIP
        >>> ds.classes[:2], ds.splits()  # doctest: +SKIP
        (('background', 'red circle'), ('test', 'train', 'val'))
    """

    def __init__(self, root: str | os.PathLike, unseen: Iterable[str] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: no such dataset folder")
        self.labelmap = LabelMap.read(self.root / LABELMAP)
        self.classes = self.labelmap.names
        if unseen is None:
            unseen_file = self.root / UNSEEN
            unseen = read_name_list(unseen_file) if unseen_file.exists() else []
        unseen = tuple(unseen)
        for name in unseen:
            if name not in self.classes:
                raise DatasetError(
                    f"unseen class {name!r} is not in {self.root / LABELMAP}; fix the name or add the class"
                )
        if "background" in unseen:
            raise DatasetError("background cannot be an unseen class")
        self.unseen = unseen
        self._image_index: dict[str, Path] | None = None

    # -- splits -------------------------------------------------------------------------------------
    def splits(self) -> tuple[str, ...]:
        sets = self.root / SETS
        if sets.is_dir():
            found = tuple(sorted(p.stem for p in sets.glob("*.txt")))
            if found:
                return found
        return ("all",)

    def ids(self, split: str) -> list[str]:
        path = self.root / SETS / f"{split}.txt"
        if path.exists():
            return read_name_list(path, check_image_id)
        if split == "all":  # every label map, except hidden files (an interrupted save's .NAME.XXXX.tmp ...)
            return sorted(p.stem for p in (self.root / LABELS).glob("*.png") if is_valid_image_id(p.stem))
        raise DatasetError(f"{path}: no such split; this dataset has splits: {', '.join(self.splits())}")

    # -- samples ------------------------------------------------------------------------------------
    def image_path(self, sample_id: str) -> Path:
        if self._image_index is None:
            folder = self.root / IMAGES
            if not folder.is_dir():
                raise DatasetError(f"{folder}: missing; put the images there")
            self._image_index = {
                p.stem: p for p in sorted(folder.iterdir())
                if p.suffix.lower() in IMAGE_SUFFIXES and is_valid_image_id(p.stem)
            }
        try:
            return self._image_index[sample_id]
        except KeyError:
            raise DatasetError(
                f"{self.root / IMAGES}: no image for id {sample_id!r} (listed in a split or label folder)"
            ) from None

    def label_path(self, sample_id: str) -> Path:
        return self.root / LABELS / f"{sample_id}.png"

    def image(self, sample_id: str) -> np.ndarray:
        return read_image(self.image_path(sample_id))

    def label(self, sample_id: str) -> np.ndarray:
        path = self.label_path(sample_id)
        if not path.exists():
            raise DatasetError(f"{path}: missing label map for {sample_id!r}")
        try:
            labels = read_label_png(path)
        except NotIndexedError:  # decodes, within the size limit, but holds colours: a CVAT colour mask?
            rgb = _colour_mask(path)
            if rgb is None:
                raise
            labels = self.labelmap.colors_to_indices(rgb, path)
        bad = np.unique(labels[(labels >= len(self.classes)) & (labels != IGNORE_INDEX)])
        if bad.size:
            raise DatasetError(
                f"{path}: holds class indices {bad.tolist()} but labelmap.txt defines only "
                f"{len(self.classes)} classes (0..{len(self.classes) - 1}, 255 = ignore); fix the labels "
                "or add the missing classes to labelmap.txt"
            )
        return labels


def _colour_mask(path: Path) -> np.ndarray | None:
    """The pixels of an RGB(A) colour mask (as CVAT exports), or None for another colour mode (CMYK, LA...)."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")) if img.mode in ("RGB", "RGBA") else None


class DatasetWriter:
    """Write a dataset in zerolabel's layout; every file is written atomically.

    Example:
        >>> with DatasetWriter("/tmp/ds", LabelMap.from_names(["background", "cat"])) as w:  # doctest: +SKIP
        ...     w.add("0001", rgb, labels, split="train")
    """

    def __init__(
        self,
        root: str | os.PathLike,
        labelmap: LabelMap,
        unseen: Iterable[str] = (),
        image_suffix: str = ".png",
    ) -> None:
        self.root = Path(root)
        self.labelmap = labelmap
        self.unseen = tuple(unseen)
        self.image_suffix = image_suffix
        self.splits: dict[str, list[str]] = {}
        self._palette = labelmap.palette()
        for name in self.unseen:
            if name not in labelmap.names:
                raise DatasetError(f"unseen class {name!r} is not one of the dataset's classes")
        (self.root / IMAGES).mkdir(parents=True, exist_ok=True)
        (self.root / LABELS).mkdir(parents=True, exist_ok=True)
        (self.root / SETS).mkdir(parents=True, exist_ok=True)
        labelmap.write(self.root / LABELMAP)

    def add(self, sample_id: str, image: np.ndarray | None, labels: np.ndarray, split: str | None = None) -> None:
        """Write one sample (``image`` None keeps an existing image file) and list it in ``split``."""
        check_image_id(sample_id)
        if split is not None:
            check_image_id(split)  # the split is a file name too: ImageSets/Segmentation/<split>.txt
        if image is not None:
            if image.shape[:2] != labels.shape:
                raise DatasetError(f"{sample_id}: image {image.shape[:2]} and labels {labels.shape} differ in size")
            write_image(self.root / IMAGES / f"{sample_id}{self.image_suffix}", image)
        write_label_png(self.root / LABELS / f"{sample_id}.png", labels, self._palette)
        if split is not None:
            self.splits.setdefault(split, []).append(sample_id)

    def close(self) -> None:
        for split, ids in self.splits.items():
            write_name_list(self.root / SETS / f"{split}.txt", ids, check_image_id)
        if self.unseen:
            write_name_list(self.root / UNSEEN, self.unseen)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
