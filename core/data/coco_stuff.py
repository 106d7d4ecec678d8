"""COCO-Stuff 164k, read from the official ``stuffthingmaps_trainval2017`` layout.

The layout the COCO-Stuff README sets up (``images/`` from COCO's train2017.zip / val2017.zip,
``annotations/`` from stuffthingmaps_trainval2017.zip)::

    <root>/images/{train2017,val2017}/<12-digit id>.jpg
    <root>/annotations/{train2017,val2017}/<12-digit id>.png

Each annotation PNG is a single-channel index image: value ``v`` in ``0..181`` is COCO-Stuff class id
``v + 1`` (the ``labels.txt`` numbering, 1 = person ... 182 = wood) and 255 is 'unlabeled'.

Our contract puts ``background`` at index 0, so a stored value ``v`` becomes index ``v + 1`` and
``classes[v + 1]`` is exactly the ``labels.txt`` name of id ``v + 1``. What 'unlabeled' (255) becomes is a
choice the zero-shot papers make differently, so it is a parameter:

* ``unlabeled="ignore"`` (default): 255 stays 255 and is left out of losses and metrics; index 0 never occurs.
  This is SPNet's convention (Xian et al., CVPR 2019).
* ``unlabeled="background"``: 255 becomes 0 (``background``), a class of its own, as in the Relation Network
  segmentation paper, which treats unlabeled pixels as background.

The 182 names include the 11 COCO thing ids that have no segmentation annotations (street sign, hat, shoe,
eye glasses, plate, mirror, window, desk, door, blender, hair brush); they never occur in the label maps
but keep the indices aligned with ``labels.txt``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from core.data.base import BACKGROUND, IGNORE_INDEX, SegDataset
from core.data.voc import check_unseen, require_dir, require_file
from core.errors import DatasetError
from core.io.image import read_image, read_label_png

#: COCO-Stuff class names in ``labels.txt`` order: entry ``i`` is class id ``i + 1`` (stored PNG value ``i``).
COCO_STUFF_NAMES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "street sign", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
    "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "hat", "backpack", "umbrella", "shoe",
    "eye glasses", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "plate",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
    "mirror", "dining table", "window", "desk", "toilet", "door", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "blender", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush", "hair brush", "banner",
    "blanket", "branch", "bridge", "building-other", "bush", "cabinet", "cage", "cardboard", "carpet",
    "ceiling-other", "ceiling-tile", "cloth", "clothes", "clouds", "counter", "cupboard", "curtain",
    "desk-stuff", "dirt", "door-stuff", "fence", "floor-marble", "floor-other", "floor-stone", "floor-tile",
    "floor-wood", "flower", "fog", "food-other", "fruit", "furniture-other", "grass", "gravel",
    "ground-other", "hill", "house", "leaves", "light", "mat", "metal", "mirror-stuff", "moss", "mountain",
    "mud", "napkin", "net", "paper", "pavement", "pillow", "plant-other", "plastic", "platform",
    "playingfield", "railing", "railroad", "river", "road", "rock", "roof", "rug", "salad", "sand", "sea",
    "shelf", "sky-other", "skyscraper", "snow", "solid-other", "stairs", "stone", "straw",
    "structural-other", "table", "tent", "textile-other", "towel", "tree", "vegetable", "wall-brick",
    "wall-concrete", "wall-other", "wall-panel", "wall-stone", "wall-tile", "wall-wood", "water-other",
    "waterdrops", "window-blind", "window-other", "wood",
)  # fmt: skip

#: Our class tuple: index 0 = background, index ``k`` (1..182) = COCO-Stuff class id ``k``.
COCO_STUFF_CLASSES: tuple[str, ...] = (BACKGROUND, *COCO_STUFF_NAMES)

#: The 11 COCO thing classes without segmentation annotations (they never appear in label maps).
COCO_STUFF_UNUSED: tuple[str, ...] = (
    "street sign", "hat", "shoe", "eye glasses", "plate", "mirror", "window", "desk", "door", "blender",
    "hair brush",
)  # fmt: skip

#: Largest stored class value (181 = wood); 255 = unlabeled.
_MAX_STORED = len(COCO_STUFF_NAMES) - 1
_SPLIT_DIRS = {"train": "train2017", "val": "val2017"}


def stuffthingmap_lut(unlabeled: str = "ignore") -> np.ndarray:
    """256-entry lookup table from stored PNG values to our indices (v -> v + 1, 255 per ``unlabeled``)."""
    if unlabeled not in ("ignore", "background"):
        raise ValueError(f"unlabeled must be 'ignore' or 'background', got {unlabeled!r}")
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    lut[: _MAX_STORED + 1] = np.arange(1, _MAX_STORED + 2, dtype=np.uint8)
    lut[IGNORE_INDEX] = IGNORE_INDEX if unlabeled == "ignore" else 0
    return lut


def find_cocostuff(root: str | os.PathLike) -> Path:
    """Locate the folder holding ``images/`` and ``annotations/`` (the root itself or its ``dataset/``)."""
    root = Path(root)
    for candidate in (root, root / "dataset"):
        if (candidate / "annotations").is_dir() and (candidate / "images").is_dir():
            return candidate
    raise DatasetError(
        f"{root}: no COCO-Stuff layout here (expected images/ and annotations/ in it or in "
        f"{root / 'dataset'}); "
        "unzip train2017.zip/val2017.zip into images/ and stuffthingmaps_trainval2017.zip into annotations/"
    )


class COCOStuffDataset(SegDataset):
    """COCO-Stuff 164k with the 182 ``labels.txt`` classes after ``background`` (183 in all).

    Args:
        root: The folder holding ``images/`` and ``annotations/`` (or its parent with ``dataset/``).
        unseen: Class names held out as unseen, spelled as in :data:`COCO_STUFF_NAMES`.
        unlabeled: ``"ignore"`` keeps 255 as ignore (SPNet's convention); ``"background"`` maps it to
            index 0 (the Relation Network paper's convention). See the module docstring.

    Example:
        >>> ds = COCOStuffDataset("/data/cocostuff", unlabeled="ignore")  # doctest: +SKIP
        >>> ds.classes[ds.label(ds.ids("val")[0]).max()]  # doctest: +SKIP
        'wood'
    """

    classes = COCO_STUFF_CLASSES

    def __init__(
        self, root: str | os.PathLike, unseen: Iterable[str] = (), unlabeled: str = "ignore"
    ) -> None:
        self.lut = stuffthingmap_lut(unlabeled)
        self.unlabeled = unlabeled
        self.root = find_cocostuff(root)
        self.unseen = check_unseen(self.classes, unseen)
        self._ids: dict[str, list[str]] = {}
        self._split_of: dict[str, str] = {}

    def splits(self) -> tuple[str, ...]:
        return tuple(s for s, d in _SPLIT_DIRS.items() if (self.root / "annotations" / d).is_dir())

    def ids(self, split: str) -> list[str]:
        if split not in _SPLIT_DIRS:
            raise DatasetError(f"no COCO-Stuff split {split!r}; available: {', '.join(_SPLIT_DIRS)}")
        if split not in self._ids:
            folder = require_dir(
                self.root / "annotations" / _SPLIT_DIRS[split], f"annotations/{_SPLIT_DIRS[split]}/"
            )
            ids = sorted(p.stem for p in folder.glob("*.png"))
            self._ids[split] = ids
            self._split_of.update(dict.fromkeys(ids, split))
        return list(self._ids[split])

    def _folder_of(self, sample_id: str) -> str:
        split = self._split_of.get(sample_id)
        if split is None:  # ids() not called: probe the annotation folders
            for name, folder in _SPLIT_DIRS.items():
                if (self.root / "annotations" / folder / f"{sample_id}.png").is_file():
                    split = self._split_of[sample_id] = name
                    break
            else:
                raise DatasetError(
                    f"{self.root / 'annotations'}: no annotation {sample_id}.png in "
                    f"{' or '.join(_SPLIT_DIRS.values())}; is the id right and the zip fully extracted?"
                )
        return _SPLIT_DIRS[split]

    def image_path(self, sample_id: str) -> Path:
        return self.root / "images" / self._folder_of(sample_id) / f"{sample_id}.jpg"

    def label_path(self, sample_id: str) -> Path:
        return self.root / "annotations" / self._folder_of(sample_id) / f"{sample_id}.png"

    def image(self, sample_id: str) -> np.ndarray:
        return read_image(require_file(self.image_path(sample_id), f"the image of {sample_id!r}"))

    def label(self, sample_id: str) -> np.ndarray:
        path = require_file(self.label_path(sample_id), f"the stuffthingmap of {sample_id!r}")
        stored = read_label_png(path)
        bad = (stored > _MAX_STORED) & (stored != IGNORE_INDEX)
        if bad.any():
            values = sorted({int(v) for v in np.unique(stored[bad])})[:8]
            raise DatasetError(
                f"{path}: values {values} are not COCO-Stuff stuffthingmap values (0..181, 255 = unlabeled); "
                "use the PNGs of stuffthingmaps_trainval2017.zip, not COCO-style JSON or a colour rendering"
            )
        return self.lut[stored]
