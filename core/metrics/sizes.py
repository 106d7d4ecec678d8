"""IoU by object size (RN paper, Fig. 10-11): does a model do worse on small objects?

An *object* here is one (image, class) pair whose class is present in that image's ground truth; its size
is its ground-truth area as a fraction of the whole image (``H * W``, ignored pixels included, so the size
does not depend on how much of the image was labelled). Each object falls into one size bucket; the bucket
accumulates the object's intersection and union (computed on non-ignored pixels, like every other metric),
and the IoU of a bucket over a class subset is ``sum(I) / sum(U)`` over the objects of that subset in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from core.metrics.confusion import MetricsError

#: Bucket edges: [0, 1%), [1%, 5%), [5%, 20%), [20%, 100%].
DEFAULT_SIZE_EDGES: tuple[float, ...] = (0.0, 0.01, 0.05, 0.2, 1.0)


class SizeStats:
    """Per-bucket, per-class intersection/union of objects, and each class's average object size.

    Args:
        num_classes: Number of classes ``C``.
        edges: Increasing bucket edges from 0 to 1; bucket ``i`` is ``[edges[i], edges[i+1])``, the last one
            closed on the right.

    Example:
        >>> stats = SizeStats(2)
        >>> stats.update(np.array([[90, 0], [5, 5]]), image_pixels=100)  # class 1: a 10% object
        >>> stats.iou([1]).round(2).tolist()  # per bucket; NaN = no object of class 1 there
        [nan, nan, 0.5, nan]
    """

    def __init__(self, num_classes: int, edges: Sequence[float] = DEFAULT_SIZE_EDGES) -> None:
        edges_arr = np.asarray(edges, dtype=np.float64)
        if edges_arr.ndim != 1 or edges_arr.size < 2 or np.any(np.diff(edges_arr) <= 0):
            raise MetricsError(
                f"size bucket edges must be at least two increasing numbers, got {list(edges)}"
            )
        if edges_arr[0] != 0.0 or edges_arr[-1] != 1.0:
            raise MetricsError(f"size bucket edges must start at 0 and end at 1, got {list(edges)}")
        self.num_classes = num_classes
        self.edges = edges_arr
        shape = (edges_arr.size - 1, num_classes)
        self.intersection = np.zeros(shape, dtype=np.int64)
        self.union = np.zeros(shape, dtype=np.int64)
        self.objects = np.zeros(shape, dtype=np.int64)
        self.size_sum = np.zeros(num_classes, dtype=np.float64)
        self.images_with = np.zeros(num_classes, dtype=np.int64)

    @property
    def num_buckets(self) -> int:
        return self.edges.size - 1

    def bucket_of(self, fractions: np.ndarray) -> np.ndarray:
        """Bucket index of each area fraction (1.0 falls in the last bucket)."""
        idx = np.searchsorted(self.edges, np.asarray(fractions, dtype=np.float64), side="right") - 1
        return np.clip(idx, 0, self.num_buckets - 1)

    def update(self, image_matrix: np.ndarray, image_pixels: int) -> None:
        """Add the objects of one image, given its own confusion matrix and its pixel count ``H * W``."""
        matrix = np.asarray(image_matrix, dtype=np.int64)
        if matrix.shape != (self.num_classes, self.num_classes):
            raise MetricsError(f"expected a {self.num_classes}x{self.num_classes} matrix, got {matrix.shape}")
        if image_pixels <= 0:
            return
        gt = matrix.sum(axis=1)
        classes = np.flatnonzero(gt > 0)
        if classes.size == 0:
            return
        tp = np.diag(matrix)[classes]
        union = gt[classes] + matrix.sum(axis=0)[classes] - tp
        fractions = gt[classes] / float(image_pixels)
        buckets = self.bucket_of(fractions)
        np.add.at(self.intersection, (buckets, classes), tp)
        np.add.at(self.union, (buckets, classes), union)
        np.add.at(self.objects, (buckets, classes), 1)
        self.size_sum[classes] += fractions
        self.images_with[classes] += 1

    def merge(self, other: SizeStats) -> SizeStats:
        """Add another accumulator with the same classes and edges into this one."""
        if other.num_classes != self.num_classes or not np.array_equal(other.edges, self.edges):
            raise MetricsError("cannot merge size statistics with different classes or bucket edges")
        for name in ("intersection", "union", "objects", "size_sum", "images_with"):
            getattr(self, name)[...] += getattr(other, name)
        return self

    def iou(self, classes: Iterable[int]) -> np.ndarray:
        """Pooled IoU per bucket over ``classes`` (``NaN`` where the bucket holds none of their objects)."""
        idx = np.asarray(list(classes), dtype=np.int64)
        inter = self.intersection[:, idx].sum(axis=1).astype(np.float64)
        union = self.union[:, idx].sum(axis=1)
        out = np.full(self.num_buckets, np.nan)
        np.divide(inter, union, out=out, where=union > 0)
        return out

    def count(self, classes: Iterable[int]) -> np.ndarray:
        """Number of objects per bucket over ``classes``."""
        idx = np.asarray(list(classes), dtype=np.int64)
        return self.objects[:, idx].sum(axis=1)

    def mean_object_size(self) -> np.ndarray:
        """Each class's mean area fraction over the images that contain it (``NaN`` if none does)."""
        out = np.full(self.num_classes, np.nan)
        np.divide(self.size_sum, self.images_with, out=out, where=self.images_with > 0)
        return out

    def as_dict(self, groups: dict[str, np.ndarray]) -> list[dict]:
        """JSON-ready buckets: ``[{"range": [lo, hi], "<group>": {"IoU", "objects"}, ...}, ...]``."""
        per_group = {name: (self.iou(idx), self.count(idx)) for name, idx in groups.items()}
        out = []
        for b in range(self.num_buckets):
            entry: dict = {"range": [float(self.edges[b]), float(self.edges[b + 1])]}
            for name, (ious, counts) in per_group.items():
                value = ious[b]
                entry[name] = {"IoU": None if np.isnan(value) else float(value), "objects": int(counts[b])}
            out.append(entry)
        return out
