"""What a prediction hands to the app and to ``zerolabel predict``: labels now, everything else on demand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from core.inference.postprocess import Region, Scores


class HeatmapStack:
    """``[C, H, W]`` heatmaps computed when read (see :attr:`Prediction.heatmaps`)."""

    def __init__(self, scores: Scores) -> None:
        self.scores = scores
        self.shape = (scores.num_classes, *scores.size)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: int) -> np.ndarray:
        if not isinstance(index, int | np.integer):
            return np.asarray(self)[index]
        return self.scores.heatmap(int(index) % max(1, len(self)))

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.scores.heatmap(i) for i in range(len(self)))

    def max(self, axis: int = 0) -> np.ndarray:
        """The best class score per pixel (``axis`` 0 only)."""
        if axis != 0:
            raise ValueError("heatmaps.max takes axis 0 (over classes)")
        return self.scores.max_class_score()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty(self.shape, np.float32)
        for i in range(len(self)):
            out[i] = self.scores.heatmap(i)
        return out if dtype is None else out.astype(dtype)


@dataclass
class Prediction:
    """What the app overlays: ``labels`` 0 = background, i = ``names[i - 1]`` at the image's size.

    Heatmaps and the uncertainty map are computed on demand from the working-resolution :attr:`scores`:
    :meth:`heatmap` for the class on screen (optionally only the visible ``region``), :meth:`uncertainty_map`,
    :meth:`max_class_score`. :attr:`heatmaps` is a lazy stack (one class per index, ``max(0)`` the best class
    score); :attr:`uncertainty` builds the whole map (kept for older callers).
    """

    names: list[str]
    labels: np.ndarray  # uint8 [H, W]
    device: str
    scores: Scores = field(repr=False)

    def heatmap(self, which: int | str, region: Region | None = None) -> np.ndarray:
        """float32 ``[H, W]`` (or the region ``(top, bottom, left, right)``) in [0, 1] for a class index or name."""
        index = self.names.index(which) if isinstance(which, str) else int(which)
        return self.scores.heatmap(index, region)

    def uncertainty_map(self, region: Region | None = None) -> np.ndarray:
        """float32: 1 - (best - second best calibrated score), background included."""
        return self.scores.uncertainty(region)

    def max_class_score(self, region: Region | None = None) -> np.ndarray:
        """float32: the best class's probability at each pixel (for a display threshold)."""
        return self.scores.max_class_score(region)

    def label_score(self) -> np.ndarray:
        """float32: the probability of each pixel's label, 0 on background (for a display threshold:
        ``labels[pred.label_score() < t] = 0`` equals thresholding :meth:`max_class_score`, much cheaper)."""
        return self.scores.label_score(self.labels)

    def mean_scores(self) -> np.ndarray:
        """``[C]``: each class's mean probability over the pixels labelled with it (COCO scores)."""
        return self.scores.mean_scores(self.labels)

    @property
    def heatmaps(self) -> HeatmapStack:
        """Every class's heatmap as a lazy ``[C, H, W]`` stack: indexing computes one class, ``max(0)`` the best
        class score, ``np.asarray`` the full float32 stack (memory grows with classes x pixels)."""
        return HeatmapStack(self.scores)

    @property
    def uncertainty(self) -> np.ndarray:
        return self.scores.uncertainty()
