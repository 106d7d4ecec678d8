"""Zero-shot training views: the protocol as code, not a convention.

Two views, both selectable (``--zs-view``) and both keeping class indices unchanged:

* ``drop`` (ZS3Net, Bucher et al. 2019, Sec. 2.2/3.1): every training image that contains a pixel of an
  unseen class is removed, so the model never sees those objects, not even as background.
* ``ignore`` (SPNet, Xian et al. 2019): images are kept, unseen pixels become 255 (ignore), so they never
  reach a loss, but the network still sees the objects' appearance as unlabelled context.

Either way :meth:`ZeroShotView.label` never returns an unseen index; a training loop may assert it with
:func:`assert_no_unseen`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.data.base import IGNORE_INDEX, SegDataset
from core.errors import ZerolabelError

VIEWS = ("drop", "ignore")


class ProtocolError(ZerolabelError):
    """The zero-shot protocol would be broken (unseen pixels reaching training)."""


def unseen_lut(num_classes: int, unseen_indices: Iterable[int]) -> np.ndarray:
    """A 256-entry lookup table that maps unseen indices to 255 and keeps everything else."""
    lut = np.arange(256, dtype=np.uint8)
    for index in unseen_indices:
        if not 0 < index < num_classes:
            raise ValueError(f"unseen index {index} out of range 1..{num_classes - 1}")
        lut[index] = IGNORE_INDEX
    return lut


def assert_no_unseen(label: np.ndarray, unseen_indices: Iterable[int], where: str = "training batch") -> None:
    """Raise :class:`ProtocolError` if ``label`` holds any unseen-class pixel with a non-ignore target."""
    indices = np.asarray(list(unseen_indices))
    if indices.size and np.isin(label, indices).any():
        raise ProtocolError(f"{where} carries unseen-class pixels; the zero-shot protocol forbids this")


class ZeroShotView(SegDataset):
    """A training view of ``base`` with the unseen classes removed.

    Args:
        base: Any dataset.
        unseen: Unseen class names (default: ``base.unseen``).
        mode: ``"drop"`` (ZS3Net) or ``"ignore"`` (SPNet).

    Example:
        >>> train = ZeroShotView(LayoutDataset("/data/shapes"), mode="drop")  # doctest: +SKIP
        >>> train.ids("train")  # images with unseen pixels are gone  # doctest: +SKIP
    """

    def __init__(self, base: SegDataset, unseen: Iterable[str] | None = None, mode: str = "drop") -> None:
        if mode not in VIEWS:
            raise ValueError(f"unknown zero-shot view {mode!r}; choose one of {', '.join(VIEWS)}")
        self.base = base
        self.mode = mode
        self.classes = base.classes
        self.unseen = tuple(base.unseen if unseen is None else unseen)
        self.unseen_indices = tuple(base.indices_of(self.unseen))
        self._lut = unseen_lut(len(self.classes), self.unseen_indices)
        self._kept: dict[str, list[str]] = {}
        self.dropped: dict[str, list[str]] = {}

    def splits(self) -> tuple[str, ...]:
        return self.base.splits()

    def ids(self, split: str) -> list[str]:
        ids = self.base.ids(split)
        if self.mode == "ignore" or not self.unseen_indices:
            return ids
        if split not in self._kept:
            kept, dropped = [], []
            for sample_id in ids:
                has_unseen = np.isin(self.base.label(sample_id), self.unseen_indices).any()
                (dropped if has_unseen else kept).append(sample_id)
            self._kept[split], self.dropped[split] = kept, dropped
        return list(self._kept[split])

    def image(self, sample_id: str) -> np.ndarray:
        return self.base.image(sample_id)

    def label(self, sample_id: str) -> np.ndarray:
        label = self.base.label(sample_id)
        if self.mode == "drop" and self.unseen_indices and np.isin(label, self.unseen_indices).any():
            raise ProtocolError(f"sample {sample_id!r} holds unseen classes and is not part of the drop view")
        return self._lut[label]
