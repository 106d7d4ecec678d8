"""Confusion-matrix accumulation and the ZS3Net metrics (PA, MA, IoU, mIoU, hIoU) over class subsets.

Conventions (shared by every function here):

* The matrix is ``int64 [C, C]`` with rows = ground truth and columns = prediction.
* Pixels whose target is the ignore index (255) are skipped; they count neither as ground truth nor as a
  prediction.
* A class is *present* when it has at least one ground-truth pixel. Means over classes (MA, mIoU) run over the
  present classes of a subset only; a class absent from the ground truth is left out, never counted as 0.
* A class that is predicted but absent from the ground truth has an undefined IoU (``NaN`` in
  :func:`per_class_iou`, left out of ``per_class`` in the JSON). Its false-positive pixels are not lost: each
  of them is a miss of the ground-truth class it covers, so it already lowers that class's accuracy and IoU.
  :meth:`ConfusionMatrix.absent_predicted` reports such classes separately so the user still sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import ZerolabelError

IGNORE_INDEX = 255
#: Pixels handled per bincount call; bounds the temporary int64 buffers to ~32 MiB for huge images.
_CHUNK = 1 << 22


class MetricsError(ZerolabelError, ValueError):
    """Inputs to a metric do not fit together (shape, dtype, class index out of range, unknown class name)."""


def _check_integer(name: str, array: np.ndarray) -> None:
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise MetricsError(
            f"{name} must be an integer label map, got dtype {array.dtype}; "
            "take argmax over the class axis of the scores first"
        )


class ConfusionMatrix:
    """Accumulates an ``int64 [C, C]`` confusion matrix (rows = ground truth, columns = prediction).

    Args:
        num_classes: Number of classes ``C``; valid labels are ``0 .. C-1``.
        ignore_index: Target value that is skipped (VOC uses 255).

    Example:
        >>> cm = ConfusionMatrix(3)
        >>> cm.update(np.array([[0, 1], [2, 2]]), np.array([[0, 1], [1, 255]]))
        >>> cm.matrix.tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX) -> None:
        if num_classes < 1:
            raise MetricsError(f"num_classes must be at least 1, got {num_classes}")
        if 0 <= ignore_index < num_classes:
            raise MetricsError(f"ignore_index {ignore_index} collides with a class index (C={num_classes})")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def compute(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The confusion matrix of one (pred, target) pair, without accumulating it.

        Raises:
            MetricsError: shapes differ, a map is not integer, ``pred`` holds a value outside ``[0, C)``, or
                ``target`` holds a value that is neither a class index nor the ignore index.
        """
        pred = np.asarray(pred)
        target = np.asarray(target)
        _check_integer("pred", pred)
        _check_integer("target", target)
        if pred.shape != target.shape:
            raise MetricsError(f"pred shape {pred.shape} differs from target shape {target.shape}")
        c = self.num_classes
        out = np.zeros(c * c, dtype=np.int64)
        if pred.size == 0:
            return out.reshape(c, c)
        lo, hi = int(pred.min()), int(pred.max())
        if lo < 0 or hi >= c:
            bad = lo if lo < 0 else hi
            raise MetricsError(f"prediction holds class index {bad}, outside 0..{c - 1} (C={c})")
        p_flat, t_flat = pred.reshape(-1), target.reshape(-1)
        for start in range(0, p_flat.size, _CHUNK):
            t = t_flat[start : start + _CHUNK]
            p = p_flat[start : start + _CHUNK]
            keep = t != self.ignore_index
            if not keep.all():
                t, p = t[keep], p[keep]
            if t.size == 0:
                continue
            t = t.astype(np.int64)
            p = p.astype(np.int64, copy=False)
            if int(t.min()) < 0 or int(t.max()) >= c:
                bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
                raise MetricsError(
                    f"ground truth holds class index {bad}, but there are only {c} classes "
                    f"(0..{c - 1}, {self.ignore_index} = ignore); check the label map against the class list"
                )
            out += np.bincount(t * c + p, minlength=c * c)
        return out.reshape(c, c)

    def update(self, pred: np.ndarray, target: np.ndarray) -> None:
        """Add one (pred, target) pair of integer label maps of any matching shape."""
        self.matrix += self.compute(pred, target)

    def merge(self, *others: ConfusionMatrix) -> ConfusionMatrix:
        """Add the counts of other matrices (e.g. shards of a distributed evaluation) into this one."""
        for other in others:
            if other.num_classes != self.num_classes:
                raise MetricsError(
                    f"cannot merge a {other.num_classes}-class matrix into a {self.num_classes}-class one"
                )
            self.matrix += other.matrix
        return self

    @property
    def total(self) -> int:
        """Number of evaluated (non-ignored) pixels."""
        return int(self.matrix.sum())

    def gt_counts(self) -> np.ndarray:
        """Ground-truth pixels per class (row sums)."""
        return self.matrix.sum(axis=1)

    def pred_counts(self) -> np.ndarray:
        """Predicted pixels per class over non-ignored pixels (column sums)."""
        return self.matrix.sum(axis=0)

    def present(self) -> np.ndarray:
        """Boolean mask of classes with at least one ground-truth pixel."""
        return self.gt_counts() > 0

    def absent_predicted(self) -> np.ndarray:
        """Indices of classes predicted on evaluated pixels although absent from the ground truth."""
        return np.flatnonzero((self.gt_counts() == 0) & (self.pred_counts() > 0))


def per_class_iou(matrix: np.ndarray) -> np.ndarray:
    """IoU per class, ``NaN`` for classes absent from the ground truth (even if predicted).

    Example:
        >>> per_class_iou(np.array([[2, 1], [0, 3]])).round(3).tolist()
        [0.667, 0.75]
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    tp = np.diag(matrix).astype(np.float64)
    gt = matrix.sum(axis=1)
    union = gt + matrix.sum(axis=0) - np.diag(matrix)
    out = np.full(matrix.shape[0], np.nan)
    np.divide(tp, union, out=out, where=gt > 0)
    return out


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall per class (correct / ground-truth pixels), ``NaN`` for classes absent from the ground truth."""
    matrix = np.asarray(matrix, dtype=np.int64)
    gt = matrix.sum(axis=1)
    out = np.full(matrix.shape[0], np.nan)
    np.divide(np.diag(matrix).astype(np.float64), gt, out=out, where=gt > 0)
    return out


@dataclass(frozen=True)
class SubsetMetrics:
    """PA, MA and mIoU of one class subset; each ``None`` when no class of the subset is present."""

    PA: float | None
    MA: float | None
    mIoU: float | None
    #: How many classes of the subset are present in the ground truth (the denominator of MA and mIoU).
    num_present: int = 0

    def as_dict(self) -> dict[str, float | None]:
        return {"PA": self.PA, "MA": self.MA, "mIoU": self.mIoU}


def subset_metrics(matrix: np.ndarray, classes: Iterable[int]) -> SubsetMetrics:
    """PA, MA and mIoU over a subset of classes, as ZS3Net reports them (seen / unseen / overall).

    ``PA = correct pixels of GT classes in S / all pixels of GT classes in S``; MA and mIoU are means over the
    classes of ``S`` present in the ground truth. IoU uses the full prediction column, so pixels of any class
    wrongly predicted as a class of ``S`` count against it.

    Example:
        >>> m = subset_metrics(np.array([[2, 1], [0, 3]]), [0, 1])
        >>> round(m.PA, 3), round(m.MA, 3), round(m.mIoU, 3)
        (0.833, 0.833, 0.708)
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    idx = np.unique(np.asarray(list(classes), dtype=np.int64))
    if idx.size and (idx.min() < 0 or idx.max() >= matrix.shape[0]):
        raise MetricsError(f"subset holds class indices outside 0..{matrix.shape[0] - 1}: {idx.tolist()}")
    gt = matrix.sum(axis=1)[idx]
    sel = idx[gt > 0]
    if sel.size == 0:
        return SubsetMetrics(None, None, None, 0)
    tp = np.diag(matrix)[sel]
    pa = float(tp.sum() / matrix.sum(axis=1)[sel].sum())
    ma = float(np.mean(per_class_accuracy(matrix)[sel]))
    miou = float(np.mean(per_class_iou(matrix)[sel]))
    return SubsetMetrics(pa, ma, miou, int(sel.size))


def harmonic_mean(seen: float | None, unseen: float | None) -> float | None:
    """hIoU = 2·s·u / (s + u); 0 when either is 0, ``None`` when either is undefined.

    Example:
        >>> round(harmonic_mean(0.6, 0.3), 3)
        0.4
    """
    if seen is None or unseen is None:
        return None
    if seen <= 0 or unseen <= 0:
        return 0.0
    return 2.0 * seen * unseen / (seen + unseen)


def subsets(
    num_classes: int, unseen: Sequence[int], *, background_seen: bool = True, background: int = 0
) -> dict[str, np.ndarray]:
    """Index arrays of the ``seen``, ``unseen`` and ``overall`` subsets.

    Background counts among the seen classes by default, as SPNet and ZS3Net do on VOC; with
    ``background_seen=False`` it belongs only to ``overall``.
    """
    unseen_idx = np.unique(np.asarray(list(unseen), dtype=np.int64))
    if unseen_idx.size and (unseen_idx.min() < 0 or unseen_idx.max() >= num_classes):
        raise MetricsError(f"unseen indices outside 0..{num_classes - 1}: {unseen_idx.tolist()}")
    if background in unseen_idx.tolist():
        raise MetricsError("the background class cannot be unseen")
    all_idx = np.arange(num_classes)
    seen_mask = ~np.isin(all_idx, unseen_idx)
    if not background_seen:
        seen_mask[background] = False
    return {"seen": all_idx[seen_mask], "unseen": unseen_idx, "overall": all_idx}
