"""Pascal-Context with its usual 59 classes (+ background), from either of its two on-disk forms.

(a) The converted layout of mmsegmentation's ``tools/dataset_converters/pascal_context.py``::

    VOCdevkit/VOC2010/JPEGImages/<id>.jpg
    VOCdevkit/VOC2010/SegmentationClassContext/<id>.png   0 = background, 1..59 = the classes below
    VOCdevkit/VOC2010/ImageSets/SegmentationContext/{train,val}.txt

(b) The original release (``trainval.tar.gz`` from the Pascal-Context site)::

    <root>/trainval/<id>.mat     struct field LabelMap: [H, W] ids of the 459 full classes (labels.txt)
    <root>/labels.txt            "1: accordion" ... 459 lines "id: name"
    <root>/59_labels.txt         the 59 task classes (optional; checked against ours when present)
    <root>/JPEGImages/<id>.jpg   or VOC2010/JPEGImages, VOCdevkit/VOC2010/JPEGImages, or images=...
    split lists: <root>/{split}.txt, ImageSets/SegmentationContext/, or VOC2010 ImageSets/Main/

Both forms give the same indices: 459-class ids are mapped by name to :data:`PASCAL_CONTEXT_59` (the
alphabetical order mmsegmentation, detectron2 and the zero-shot papers use) and every other id becomes
background 0. Some copies of ``59_labels.txt`` (the one FCN and ZS3Net read) spell three classes
``diningtable``, ``bedcloth`` and ``clothes``; they are read as ``table``, ``bedclothes`` and ``cloth``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.io

from core.data.base import BACKGROUND, SegDataset
from core.data.voc import check_label_range, check_unseen, read_id_list, require_file
from core.errors import DatasetError
from core.io.image import read_image, read_label_png

#: The 59 Pascal-Context classes in their usual (alphabetical) order; index k + 1 in the label maps.
PASCAL_CONTEXT_59: tuple[str, ...] = (
    "aeroplane", "bag", "bed", "bedclothes", "bench", "bicycle", "bird", "boat", "book", "bottle", "building",
    "bus", "cabinet", "car", "cat", "ceiling", "chair", "cloth", "computer", "cow", "cup", "curtain", "dog",
    "door", "fence", "floor", "flower", "food", "grass", "ground", "horse", "keyboard", "light", "motorbike",
    "mountain", "mouse", "person", "plate", "platform", "pottedplant", "road", "rock", "sheep", "shelves",
    "sidewalk", "sign", "sky", "snow", "sofa", "table", "track", "train", "tree", "truck", "tvmonitor",
    "wall", "water", "window", "wood",
)  # fmt: skip

#: Our class tuple: background first, then the 59 classes.
PASCAL_CONTEXT_CLASSES: tuple[str, ...] = (BACKGROUND, *PASCAL_CONTEXT_59)

#: Spellings of 59_labels.txt (FCN / ZS3Net copies) -> the labels.txt spelling we use.
_ALIASES = {"diningtable": "table", "bedcloth": "bedclothes", "clothes": "cloth"}


def _key(name: str) -> str:
    """Compare class names without case or spaces ("potted plant" == "pottedplant")."""
    key = "".join(name.lower().split())
    return _ALIASES.get(key, key)


def read_label_list(path: Path, what: str) -> dict[int, str]:
    """Parse a Pascal-Context ``"id: name"`` file into ``{id: name}``."""
    require_file(path, what)
    table: dict[int, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            head, sep, name = line.partition(":")
            if not sep or not head.strip().isdigit() or not name.strip():
                raise DatasetError(f"{path}, line {number}: expected 'id: name', got {line.strip()!r}")
            table[int(head)] = name.strip()
    return table


def context_lut(labels_txt: Path, labels59_txt: Path | None = None) -> np.ndarray:
    """A lookup table from 459-class ids (``LabelMap``) to our 0..59 indices, built from ``labels.txt``.

    Raises:
        DatasetError: A 59-class name is not in ``labels.txt``, or ``59_labels.txt`` lists other classes.
    """
    full = read_label_list(labels_txt, "labels.txt (the 459 Pascal-Context classes)")
    id_of = {_key(name): class_id for class_id, name in full.items()}
    missing = [n for n in PASCAL_CONTEXT_59 if _key(n) not in id_of]
    if missing:
        raise DatasetError(
            f"{labels_txt}: the classes {missing} are not listed; use the Pascal-Context release's labels.txt"
        )
    if labels59_txt is not None and labels59_txt.is_file():
        listed = {_key(n) for n in read_label_list(labels59_txt, "59_labels.txt").values()}
        listed.discard(BACKGROUND)
        ours = {_key(n) for n in PASCAL_CONTEXT_59}
        if listed != ours:
            raise DatasetError(
                f"{labels59_txt}: lists {sorted(listed - ours)} instead of {sorted(ours - listed)}; "
                "it is not the 59-class list of Pascal-Context"
            )
    lut = np.zeros(max(max(full), 459) + 1, dtype=np.uint8)
    for index, name in enumerate(PASCAL_CONTEXT_59, start=1):
        lut[id_of[_key(name)]] = index
    return lut


class PascalContextDataset(SegDataset):
    """Pascal-Context, 59 classes + background, from the converted PNGs (a) or the original .mat files (b).

    Args:
        root: ``VOCdevkit``/``VOC2010`` holding ``SegmentationClassContext`` (a), or the folder of the
            original release holding ``trainval/`` and ``labels.txt`` (b).
        unseen: Class names held out as unseen (e.g. ``load_split("context_zs3_4").unseen``).
        images: The ``JPEGImages`` folder, for layout (b) when it is not found near ``root``.

    Example:
        >>> ds = PascalContextDataset("/data/VOCdevkit/VOC2010")  # doctest: +SKIP
        >>> ds.layout, ds.classes[1]  # doctest: +SKIP
        ('converted', 'aeroplane')
    """

    classes = PASCAL_CONTEXT_CLASSES

    def __init__(
        self, root: str | os.PathLike, unseen: Iterable[str] = (), images: str | os.PathLike | None = None
    ) -> None:
        root = Path(root)
        self.unseen = check_unseen(self.classes, unseen)
        self._ids: dict[str, list[str]] = {}
        converted = [root, root / "VOC2010", root / "VOCdevkit" / "VOC2010"]
        found = next((c for c in converted if (c / "SegmentationClassContext").is_dir()), None)
        if found is not None:
            self.layout = "converted"
            self.root = found
            self.image_dir = Path(images) if images else found / "JPEGImages"
            self.split_dirs = [found / "ImageSets" / "SegmentationContext"]
            self.lut: np.ndarray | None = None
            return
        original = [root, root / "full_annotations"]
        found = next((c for c in original if (c / "trainval").is_dir()), None)
        if found is None:
            raise DatasetError(
                f"{root}: no Pascal-Context data here (looked for SegmentationClassContext/ in "
                f"{', '.join(map(str, converted))} and trainval/ in {', '.join(map(str, original))}); "
                "pass VOCdevkit/VOC2010 after mmsegmentation's conversion, or the folder of trainval.tar.gz"
            )
        self.layout = "original"
        self.root = found
        self.lut = context_lut(found / "labels.txt", found / "59_labels.txt")
        voc_dirs = [found / "VOC2010", found / "VOCdevkit" / "VOC2010", root / "VOCdevkit" / "VOC2010"]
        if images:
            self.image_dir = Path(images)
        else:
            candidates = [found / "JPEGImages", root / "JPEGImages", *(v / "JPEGImages" for v in voc_dirs)]
            self.image_dir = next((c for c in candidates if c.is_dir()), candidates[0])
        self.split_dirs = [root, found, found / "ImageSets" / "SegmentationContext",
                           self.image_dir.parent / "ImageSets" / "SegmentationContext",
                           self.image_dir.parent / "ImageSets" / "Main"]  # fmt: skip

    def _split_file(self, split: str) -> Path | None:
        return next((d / f"{split}.txt" for d in self.split_dirs if (d / f"{split}.txt").is_file()), None)

    def splits(self) -> tuple[str, ...]:
        found = tuple(s for s in ("train", "val") if self._split_file(s) is not None)
        return found + ("trainval",) if self.layout == "original" and "trainval" not in found else found

    def ids(self, split: str) -> list[str]:
        if split not in self._ids:
            path = self._split_file(split)
            if path is not None:
                ids = read_id_list(path, f"the {split} split list")
                if self.layout == "original":  # VOC2010 Main lists also hold images without context labels
                    ids = [i for i in ids if self.label_path(i).is_file()]
            elif self.layout == "original" and split == "trainval":
                ids = sorted(p.stem for p in (self.root / "trainval").glob("*.mat"))
            else:
                raise DatasetError(
                    f"{self.split_dirs[0] / f'{split}.txt'}: no split list {split!r}; "
                    f"available: {', '.join(self.splits()) or 'none'}"
                )
            self._ids[split] = ids
        return list(self._ids[split])

    def image_path(self, sample_id: str) -> Path:
        return self.image_dir / f"{sample_id}.jpg"

    def label_path(self, sample_id: str) -> Path:
        if self.layout == "converted":
            return self.root / "SegmentationClassContext" / f"{sample_id}.png"
        return self.root / "trainval" / f"{sample_id}.mat"

    def image(self, sample_id: str) -> np.ndarray:
        if not self.image_dir.is_dir():
            raise DatasetError(
                f"{self.image_dir}: the JPEGImages folder is missing; unpack VOC2010 next to the annotations "
                "or pass images=<VOC2010/JPEGImages>"
            )
        return read_image(require_file(self.image_path(sample_id), f"the image of {sample_id!r}"))

    def label(self, sample_id: str) -> np.ndarray:
        path = require_file(self.label_path(sample_id), f"the label of {sample_id!r}")
        if self.lut is None:
            return check_label_range(read_label_png(path), len(self.classes), path)
        return self.lut[_read_label_map(path, len(self.lut))]


def _read_label_map(path: Path, size: int) -> np.ndarray:
    """The ``LabelMap`` of an original Pascal-Context .mat file as an integer array of 459-class ids."""
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, NotImplementedError, TypeError) as exc:
        raise DatasetError(f"{path}: not a readable MATLAB file ({exc}); re-extract trainval.tar.gz") from exc
    if "LabelMap" not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DatasetError(
            f"{path}: no variable LabelMap (found {found}); is this a Pascal-Context trainval file?"
        )
    label_map = np.asarray(mat["LabelMap"])
    if label_map.ndim != 2 or label_map.min(initial=0) < 0 or label_map.max(initial=0) >= size:
        raise DatasetError(
            f"{path}: LabelMap must be [H, W] ids in 0..{size - 1} (labels.txt), got shape {label_map.shape} "
            f"and values up to {int(label_map.max(initial=0))}"
        )
    return label_map.astype(np.intp)
