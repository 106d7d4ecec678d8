"""``open_dataset(spec)``: one string names any dataset the CLI can train or evaluate on.

Specs: ``DIR`` (zerolabel's layout), ``voc:ROOT`` (PASCAL VOC 2012), ``voc-aug:VOCROOT,SBDROOT`` (VOC + SBD
``train_aug``), ``sbd:ROOT``, ``cocostuff:ROOT`` (COCO-Stuff 164k), ``context:ROOT`` (Pascal-Context 59),
``cub:ROOT`` (CUB-200-2011). Unseen classes: names, or ``split:NAME`` for a paper's split in
``resources/splits`` (``split:voc_15_5``, ``split:voc_zs3_4``, ``split:cocostuff_15``, ...).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from core.data.base import SegDataset
from core.data.coco_stuff import COCOStuffDataset
from core.data.cub import CUBDataset
from core.data.layout import LayoutDataset
from core.data.pascal_context import PascalContextDataset
from core.data.splits import list_splits, load_split
from core.data.voc import SBDDataset, VOCAugDataset, VOCDataset
from core.errors import DatasetError


def _voc_aug(arg: str, unseen: tuple[str, ...]) -> SegDataset:
    voc, sep, sbd = arg.partition(",")
    if not sep:
        raise DatasetError(f"voc-aug:{arg}: give both roots, voc-aug:VOCROOT,SBDROOT")
    return VOCAugDataset(voc, sbd, unseen=unseen)


OPENERS: dict[str, Callable[[str, tuple[str, ...]], SegDataset]] = {
    "voc": lambda a, u: VOCDataset(a, unseen=u),
    "voc-aug": _voc_aug,
    "sbd": lambda a, u: SBDDataset(a, unseen=u),
    "cocostuff": lambda a, u: COCOStuffDataset(a, unseen=u),
    "context": lambda a, u: PascalContextDataset(a, unseen=u),
    "cub": lambda a, u: CUBDataset(a, unseen=u),
}


def resolve_unseen(unseen: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """``"split:NAME"`` -> that split's unseen classes; names stay names; ``None`` stays ``None``."""
    if unseen is None:
        return None
    items = [unseen] if isinstance(unseen, str) else list(unseen)
    if len(items) == 1 and items[0].startswith("split:"):
        name = items[0][len("split:"):]
        try:
            return load_split(name).unseen
        except ValueError:
            raise DatasetError(f"no split named {name!r}; available: {', '.join(list_splits())}") from None
    return tuple(items)


def is_layout(spec: str) -> bool:
    return spec.partition(":")[0] not in OPENERS


def absolute_spec(spec: str) -> str:
    """The same dataset spec with absolute folders, so that it means the same dataset from any directory
    (what a run's config.json stores: ``--resume`` may run elsewhere).

    Example:
        >>> absolute_spec("voc:/data/VOC") == "voc:/data/VOC" and absolute_spec("/x/shapes") == "/x/shapes"
        True
    """
    kind, _, arg = str(spec).partition(":")
    if kind not in OPENERS:
        return os.path.abspath(os.path.expanduser(spec))
    if not arg:
        return spec
    return f"{kind}:" + ",".join(os.path.abspath(os.path.expanduser(p)) for p in arg.split(","))


def open_dataset(spec: str, unseen: str | Iterable[str] | None = None) -> SegDataset:
    """Open the dataset ``spec`` names (see the module docstring).

    Example:
        >>> ds = open_dataset("voc:/data/VOCdevkit", "split:voc_15_5")  # doctest: +SKIP
        >>> ds.unseen  # doctest: +SKIP
        ('pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
    """
    names = resolve_unseen(unseen)
    kind, _, arg = str(spec).partition(":")
    if kind not in OPENERS:
        return LayoutDataset(spec, unseen=names)
    if not arg:
        raise DatasetError(f"{spec}: give the dataset's folder after the colon, e.g. {kind}:/data/{kind}")
    if names is None:
        raise DatasetError(
            f"{spec}: the papers' datasets have no unseen.txt; pass --unseen with class names or a split, "
            f"e.g. --unseen split:{'voc_15_5' if kind.startswith('voc') else list_splits()[0]}"
        )
    return OPENERS[kind](arg, names)
