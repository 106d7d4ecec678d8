"""The papers' seen/unseen class splits, kept as data in ``resources/splits/*.json``.

Each file is ``{"name", "dataset", "unseen": [...], "seen": [...], "source": "<paper, section>"}``
(``seen`` and a free-text ``notes`` are optional). Class names are spelled exactly as the matching
loader's ``classes``:

=================  ======================================================  =========================
dataset            loader                                                  splits
=================  ======================================================  =========================
``voc``            :class:`core.data.voc.VOCDataset` / ``VOCAugDataset``   voc_15_5, voc_zs3_{2..10}
``pascal_context`` :class:`core.data.pascal_context.PascalContextDataset`  context_zs3_{2..10}
``coco_stuff``     :class:`core.data.coco_stuff.COCOStuffDataset`          cocostuff_15
``cub``            :class:`core.data.cub.CUBDataset`                       cub_150_50
=================  ======================================================  =========================
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

_PACKAGE = "resources"
_FOLDER = "splits"

#: dataset id -> (module, class-tuple constant) of the loader whose class names a split uses.
_DATASET_CLASSES = {
    "voc": ("core.data.voc", "VOC_CLASSES"),
    "pascal_context": ("core.data.pascal_context", "PASCAL_CONTEXT_CLASSES"),
    "coco_stuff": ("core.data.coco_stuff", "COCO_STUFF_CLASSES"),
    "cub": ("core.data.cub", "CUB_CLASSES"),
}


@dataclass(frozen=True)
class Split:
    """A seen/unseen class split from a paper.

    Attributes:
        name: The split's name (its file name without ``.json``).
        dataset: Which loader's class names it uses (``voc``, ``pascal_context``, ``coco_stuff``, ``cub``).
        unseen: The held-out classes, in the paper's order.
        source: The paper and section the split comes from.
        seen: The seen classes when the split lists them, else ``None`` (all other foreground classes).
        notes: Spelling or convention remarks.

    Example:
        >>> split = load_split("voc_15_5")
        >>> split.unseen
        ('pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
    """

    name: str
    dataset: str
    unseen: tuple[str, ...]
    source: str
    seen: tuple[str, ...] | None = None
    notes: str = ""

    def seen_in(self, classes: Sequence[str]) -> tuple[str, ...]:
        """The seen classes: ``seen`` if listed, else every foreground class of ``classes`` not unseen."""
        if self.seen is not None:
            return self.seen
        return tuple(c for c in classes[1:] if c not in self.unseen)

    def unknown_names(self, classes: Sequence[str]) -> list[str]:
        """Names of this split (unseen and seen) that are not foreground classes of ``classes``."""
        known = set(classes[1:])
        return [n for n in (*self.unseen, *(self.seen or ())) if n not in known]


def _folder() -> Traversable:
    return resources.files(_PACKAGE).joinpath(_FOLDER)


def list_splits() -> list[str]:
    """Names of the shipped splits, sorted."""
    return sorted(p.name[: -len(".json")] for p in _folder().iterdir() if p.name.endswith(".json"))


def dataset_classes(dataset: str) -> tuple[str, ...]:
    """The class tuple (background first) of the loader a split's ``dataset`` field names."""
    if dataset not in _DATASET_CLASSES:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(_DATASET_CLASSES))}")
    module, constant = _DATASET_CLASSES[dataset]
    return getattr(importlib.import_module(module), constant)


def _names(data: dict, key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(n, str) and n for n in value):
        raise ValueError(f"{where}: {key!r} must be a list of class names")
    if len(set(value)) != len(value):
        raise ValueError(f"{where}: {key!r} lists a class twice")
    return tuple(value)


@functools.cache
def load_split(name: str) -> Split:
    """Load a split by name.

    Raises:
        ValueError: No split of that name, or its file is malformed (the message names the file).

    Example:
        >>> load_split("voc_zs3_2").unseen
        ('cow', 'motorbike')
    """
    where = f"{_PACKAGE}/{_FOLDER}/{name}.json"
    path = _folder().joinpath(f"{name}.json")
    if "/" in name or "\\" in name or not path.is_file():
        raise ValueError(f"{where}: no split named {name!r}; available: {', '.join(list_splits())}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON ({exc}); restore the file from the package") from exc
    for key in ("name", "dataset", "source"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValueError(f"{where}: {key!r} must be a non-empty string")
    if data["name"] != name:
        raise ValueError(f"{where}: its name field says {data['name']!r}; the file name and name must agree")
    unseen = _names(data, "unseen", where)
    seen = _names(data, "seen", where) if "seen" in data else None
    if not unseen:
        raise ValueError(f"{where}: 'unseen' is empty")
    if seen is not None and set(seen) & set(unseen):
        raise ValueError(f"{where}: {sorted(set(seen) & set(unseen))} are both seen and unseen")
    return Split(
        name=name, dataset=data["dataset"], unseen=unseen, source=data["source"], seen=seen,
        notes=str(data.get("notes", "")),
    )  # fmt: skip
