"""The dataset contract every loader follows (our own layout, VOC, SBD, COCO-Stuff, CUB, Pascal-Context).

A dataset is a list of classes (index 0 is background) and per-split lists of sample ids; ``image(id)``
returns 8-bit RGB ``[H, W, 3]`` and ``label(id)`` returns ``uint8 [H, W]`` class indices with 255 = ignore.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import DatasetError

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
        """The image and its label map, which must have the same size (:func:`check_same_size`)."""
        image, label = self.image(sample_id), self.label(sample_id)
        check_same_size(image, label, self.label_where(sample_id))
        return Sample(sample_id, image, label)

    def label_where(self, sample_id: str) -> str:
        """How an error names the label map of ``sample_id`` (its file, where the loader has one)."""
        path = getattr(self, "label_path", None)
        return str(path(sample_id)) if callable(path) else f"the label map of {sample_id!r}"

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


def check_same_size(image: np.ndarray, label: np.ndarray, where: str) -> None:
    """The rule for every reader: a label map has its image's size, pixel for pixel. A map of another size is
    refused (never stretched: a stretched map labels the wrong pixels); ``where`` names the label file."""
    if image.shape[:2] != label.shape[:2]:
        raise DatasetError(
            f"{where}: the label map is {label.shape[1]}x{label.shape[0]} pixels but its image is "
            f"{image.shape[1]}x{image.shape[0]}; a label map must have its image's size (re-export it, or crop / "
            "resize both together)"
        )
