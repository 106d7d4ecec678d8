"""The dataset contract every loader follows (our own layout, VOC, SBD, COCO-Stuff, CUB, Pascal-Context).

A dataset is a list of classes (index 0 is background) and per-split lists of sample ids; ``image(id)``
returns 8-bit RGB ``[H, W, 3]`` and ``label(id)`` returns ``uint8 [H, W]`` class indices with 255 = ignore.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

IGNORE_INDEX = 255
BACKGROUND = "background"


@dataclass(frozen=True)
class Sample:
    """One image with its label map, as loaded."""

    id: str
    image: np.ndarray
    label: np.ndarray


class SegDataset:
    """Base class: subclasses set ``classes``/``unseen`` and implement ``ids``, ``image`` and ``label``.

    Example:
        >>> ds = LayoutDataset("/data/shapes")  # doctest: +SKIP
        >>> sample = ds.sample(ds.ids("train")[0])  # doctest: +SKIP
    """

    #: Class names by index; index 0 is ``background``.
    classes: tuple[str, ...] = ()
    #: Names (a subset of ``classes``) held out as unseen for zero-shot work; may be empty.
    unseen: tuple[str, ...] = ()

    def splits(self) -> tuple[str, ...]:
        """Names of the splits this dataset defines (e.g. ``train``, ``val``)."""
        raise NotImplementedError

    def ids(self, split: str) -> list[str]:
        """Sample ids of ``split`` in a stable order."""
        raise NotImplementedError

    def image(self, sample_id: str) -> np.ndarray:
        """The RGB image of ``sample_id`` as ``uint8 [H, W, 3]``."""
        raise NotImplementedError

    def label(self, sample_id: str) -> np.ndarray:
        """The label map of ``sample_id`` as ``uint8 [H, W]`` (indices into ``classes``, 255 = ignore)."""
        raise NotImplementedError

    def sample(self, sample_id: str) -> Sample:
        return Sample(sample_id, self.image(sample_id), self.label(sample_id))

    def iter_split(self, split: str) -> Iterator[Sample]:
        for sample_id in self.ids(split):
            yield self.sample(sample_id)

    def class_index(self, name: str) -> int:
        try:
            return self.classes.index(name)
        except ValueError:
            raise KeyError(f"class {name!r} is not in this dataset; it has: {', '.join(self.classes)}") from None

    def indices_of(self, names: Sequence[str]) -> list[int]:
        return [self.class_index(n) for n in names]

    @property
    def seen(self) -> tuple[str, ...]:
        """Foreground classes that are not unseen."""
        return tuple(c for c in self.classes[1:] if c not in self.unseen)
