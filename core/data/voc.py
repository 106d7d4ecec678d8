"""PASCAL VOC 2012 and the SBD augmentation, read from their own release layouts.

VOC 2012 (``VOCtrainval_11-May-2012.tar``)::

    VOCdevkit/VOC2012/JPEGImages/<id>.jpg
    VOCdevkit/VOC2012/SegmentationClass/<id>.png      palette PNG, 0..20, 255 = object border (ignore)
    VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val,trainval}.txt

SBD (``benchmark.tgz``, Hariharan et al. 2011)::

    benchmark_RELEASE/dataset/img/<id>.jpg
    benchmark_RELEASE/dataset/cls/<id>.mat     struct GTcls{Boundaries, Segmentation, CategoriesPresent}
    benchmark_RELEASE/dataset/{train,val}.txt

:class:`VOCAugDataset` builds the usual ``train_aug`` set (10,582 images on the full data): VOC train,
SBD train and SBD val, minus every VOC val image; where an image has a VOC label that label is used,
otherwise SBD's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.io

from core.data.base import BACKGROUND, IGNORE_INDEX, SegDataset
from core.errors import DatasetError
from core.io.image import read_image, read_label_png

#: The VOC class names, index 0 = background, in VOC's own spelling.
VOC_CLASSES: tuple[str, ...] = (
    BACKGROUND, "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)  # fmt: skip


# ---------------------------------------------------------------- helpers shared by the dataset loaders
def check_unseen(classes: Sequence[str], unseen: Iterable[str]) -> tuple[str, ...]:
    """Return ``unseen`` as a tuple after checking every name is a foreground class of ``classes``."""
    names = tuple(unseen)
    unknown = [n for n in names if n not in classes[1:]]
    if unknown:
        raise ValueError(
            f"unseen class(es) {', '.join(map(repr, unknown))} are not foreground classes of this dataset; "
            f"choose from: {', '.join(classes[1:])}"
        )
    return names


def read_id_list(path: Path, what: str) -> list[str]:
    """Read a split file (one sample id per line, blank lines skipped), raising DatasetError if missing."""
    if not path.is_file():
        raise DatasetError(f"{path}: {what} is missing; check the dataset folder or re-extract the archive")
    with open(path, encoding="utf-8") as handle:
        return [line.split()[0] for line in handle if line.strip()]


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise DatasetError naming it."""
    if not path.is_file():
        raise DatasetError(f"{path}: {what} is missing; check the dataset folder or re-extract the archive")
    return path


def require_dir(path: Path, what: str) -> Path:
    """Return ``path`` if it is a folder, else raise DatasetError naming it."""
    if not path.is_dir():
        raise DatasetError(f"{path}: the folder {what} is missing; check the dataset folder or re-extract it")
    return path


def check_label_range(labels: np.ndarray, num_classes: int, path: Path) -> np.ndarray:
    """Raise DatasetError if ``labels`` holds values other than ``0..num_classes-1`` and 255."""
    bad = (labels >= num_classes) & (labels != IGNORE_INDEX)
    if bad.any():
        values = sorted({int(v) for v in np.unique(labels[bad])})[:8]
        raise DatasetError(
            f"{path}: label values {values} are outside 0..{num_classes - 1} (and 255 = ignore); "
            "this is not a label map of this dataset (converted to colour, or resized with interpolation?)"
        )
    return labels


def _first_dir(candidates: Sequence[Path], marker: str) -> Path | None:
    for candidate in candidates:
        if (candidate / marker).is_dir():
            return candidate
    return None


# ---------------------------------------------------------------- VOC 2012
def find_voc2012(root: str | os.PathLike) -> Path:
    """Locate the VOC2012 folder given VOCdevkit, VOCdevkit/VOC2012, or a folder holding VOCdevkit."""
    root = Path(root)
    candidates = [root, root / "VOC2012", root / "VOCdevkit" / "VOC2012"]
    found = _first_dir(candidates, "JPEGImages")
    if found is None:
        raise DatasetError(
            f"{root}: no PASCAL VOC 2012 folder here (looked for JPEGImages/ in "
            f"{', '.join(str(c) for c in candidates)}); pass VOCdevkit or VOCdevkit/VOC2012 from "
            "VOCtrainval_11-May-2012.tar"
        )
    return found


class VOCDataset(SegDataset):
    """PASCAL VOC 2012 segmentation (21 classes, 255 = object border).

    Args:
        root: ``VOCdevkit``, ``VOCdevkit/VOC2012``, or a folder holding ``VOCdevkit``.
        unseen: Class names held out as unseen (e.g. from :func:`core.data.splits.load_split`).

    Raises:
        DatasetError: ``JPEGImages``, ``SegmentationClass`` or ``ImageSets/Segmentation`` is missing.

    Example:
        >>> ds = VOCDataset("/data/VOCdevkit", unseen=("sofa", "train"))  # doctest: +SKIP
        >>> ds.label(ds.ids("val")[0]).max()  # doctest: +SKIP
        255
    """

    classes = VOC_CLASSES

    def __init__(self, root: str | os.PathLike, unseen: Iterable[str] = ()) -> None:
        self.root = find_voc2012(root)
        require_dir(self.root / "SegmentationClass", "SegmentationClass/ (label PNGs)")
        self.split_dir = require_dir(self.root / "ImageSets" / "Segmentation", "ImageSets/Segmentation/")
        self.unseen = check_unseen(self.classes, unseen)
        self._ids: dict[str, list[str]] = {}

    def splits(self) -> tuple[str, ...]:
        found = sorted(p.stem for p in self.split_dir.glob("*.txt"))
        order = {"train": 0, "val": 1, "trainval": 2}
        return tuple(sorted(found, key=lambda s: (order.get(s, 3), s)))

    def ids(self, split: str) -> list[str]:
        if split not in self._ids:
            path = self.split_dir / f"{split}.txt"
            if not path.is_file():
                raise DatasetError(
                    f"{path}: no split {split!r} in this VOC folder; available: {', '.join(self.splits())}"
                )
            self._ids[split] = read_id_list(path, f"the {split} split list")
        return list(self._ids[split])

    def image_path(self, sample_id: str) -> Path:
        return self.root / "JPEGImages" / f"{sample_id}.jpg"

    def label_path(self, sample_id: str) -> Path:
        return self.root / "SegmentationClass" / f"{sample_id}.png"

    def image(self, sample_id: str) -> np.ndarray:
        return read_image(require_file(self.image_path(sample_id), f"the image of {sample_id!r}"))

    def label(self, sample_id: str) -> np.ndarray:
        path = require_file(self.label_path(sample_id), f"the label PNG of {sample_id!r}")
        return check_label_range(read_label_png(path), len(self.classes), path)


# ---------------------------------------------------------------- SBD
def find_sbd(root: str | os.PathLike) -> Path:
    """Locate ``benchmark_RELEASE/dataset`` given it, ``benchmark_RELEASE``, or a folder holding it."""
    root = Path(root)
    candidates = [root, root / "dataset", root / "benchmark_RELEASE" / "dataset"]
    found = _first_dir(candidates, "cls")
    if found is None:
        raise DatasetError(
            f"{root}: no SBD dataset folder here (looked for cls/ in {', '.join(map(str, candidates))}); "
            "pass benchmark_RELEASE or benchmark_RELEASE/dataset from benchmark.tgz"
        )
    return found


def read_sbd_cls(path: Path) -> np.ndarray:
    """Read ``GTcls.Segmentation`` (uint8 [H, W], 0..20) from an SBD ``cls/<id>.mat`` file."""
    require_file(path, "the SBD class annotation (.mat)")
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, NotImplementedError, TypeError) as exc:
        raise DatasetError(
            f"{path}: not a readable MATLAB v5 file ({exc}); re-extract it from benchmark.tgz"
        ) from exc
    fields = mat["GTcls"].dtype.names if "GTcls" in mat else None
    if not fields or "Segmentation" not in fields:
        found = fields or sorted(k for k in mat if not k.startswith("__"))
        raise DatasetError(
            f"{path}: expected a struct GTcls with a field Segmentation, found {found}; "
            "is this an inst/ file instead of a cls/ file?"
        )
    segmentation = np.asarray(mat["GTcls"]["Segmentation"][0, 0])
    if segmentation.ndim != 2:
        raise DatasetError(f"{path}: GTcls.Segmentation has shape {segmentation.shape}, expected [H, W]")
    return check_label_range(segmentation.astype(np.uint8), len(VOC_CLASSES), path)


class SBDDataset(SegDataset):
    """The Semantic Boundaries Dataset (SBD) with VOC's 21 classes, read from its MATLAB files.

    Splits are SBD's own ``train`` (8,498) and ``val`` (2,857), plus ``train_noval`` if that file is present.
    SBD labels have no border class, so they hold 0..20 only.

    Example:
        >>> sbd = SBDDataset("/data/benchmark_RELEASE")  # doctest: +SKIP
        >>> sbd.label(sbd.ids("train")[0]).dtype  # doctest: +SKIP
        dtype('uint8')
    """

    classes = VOC_CLASSES

    def __init__(self, root: str | os.PathLike, unseen: Iterable[str] = ()) -> None:
        self.root = find_sbd(root)
        require_dir(self.root / "img", "img/ (SBD images)")
        self.unseen = check_unseen(self.classes, unseen)
        self._ids: dict[str, list[str]] = {}

    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in ("train", "val", "train_noval") if (self.root / f"{s}.txt").is_file())

    def ids(self, split: str) -> list[str]:
        if split not in self._ids:
            path = self.root / f"{split}.txt"
            if not path.is_file():
                raise DatasetError(
                    f"{path}: no SBD split {split!r}; available: {', '.join(self.splits()) or 'none'}"
                )
            self._ids[split] = read_id_list(path, f"the SBD {split} list")
        return list(self._ids[split])

    def image_path(self, sample_id: str) -> Path:
        return self.root / "img" / f"{sample_id}.jpg"

    def label_path(self, sample_id: str) -> Path:
        return self.root / "cls" / f"{sample_id}.mat"

    def image(self, sample_id: str) -> np.ndarray:
        return read_image(require_file(self.image_path(sample_id), f"the SBD image of {sample_id!r}"))

    def label(self, sample_id: str) -> np.ndarray:
        return read_sbd_cls(self.label_path(sample_id))


# ---------------------------------------------------------------- VOC + SBD = train_aug
class VOCAugDataset(SegDataset):
    """VOC 2012 augmented with SBD: splits ``train_aug`` and ``val`` (VOC val, untouched).

    ``train_aug`` = (VOC train ∪ SBD train ∪ SBD val) − VOC val, sorted. Labels come from VOC's
    ``SegmentationClass`` where it has the image (finer, with the 255 border) and from SBD otherwise.

    Example:
        >>> aug = VOCAugDataset("/data/VOCdevkit", "/data/benchmark_RELEASE")  # doctest: +SKIP
        >>> len(aug.ids("train_aug"))  # doctest: +SKIP
        10582
    """

    classes = VOC_CLASSES

    def __init__(
        self, voc_root: str | os.PathLike, sbd_root: str | os.PathLike, unseen: Iterable[str] = ()
    ) -> None:
        self.voc = VOCDataset(voc_root)
        self.sbd = SBDDataset(sbd_root)
        self.unseen = check_unseen(self.classes, unseen)
        self._train_aug: list[str] | None = None

    def splits(self) -> tuple[str, ...]:
        return ("train_aug", "val")

    def ids(self, split: str) -> list[str]:
        if split == "val":
            return self.voc.ids("val")
        if split != "train_aug":
            raise DatasetError(f"no split {split!r} in VOC+SBD; available: train_aug, val")
        if self._train_aug is None:
            union = set(self.voc.ids("train")) | set(self.sbd.ids("train")) | set(self.sbd.ids("val"))
            self._train_aug = sorted(union - set(self.voc.ids("val")))
        return list(self._train_aug)

    def label_source(self, sample_id: str) -> str:
        """``"voc"`` if VOC has a label PNG for ``sample_id``, else ``"sbd"``."""
        return "voc" if self.voc.label_path(sample_id).is_file() else "sbd"

    def image(self, sample_id: str) -> np.ndarray:
        if self.voc.image_path(sample_id).is_file():
            return self.voc.image(sample_id)
        return self.sbd.image(sample_id)

    def label(self, sample_id: str) -> np.ndarray:
        if self.label_source(sample_id) == "voc":
            return self.voc.label(sample_id)
        return self.sbd.label(sample_id)
