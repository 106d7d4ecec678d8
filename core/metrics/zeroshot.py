"""The two zero-label settings as code: ZLSS restriction, ZLSS targets, and SPNet-C calibration.

* GZLSS: the argmax runs over every class (seen, unseen and background); nothing is ignored.
* ZLSS: the argmax runs over the unseen classes and background only, and ground-truth pixels of the seen
  classes are ignored ("seen classes are ignored in accuracy calculation under ZLSS setting", RN paper).

Scores are ``[C, H, W]`` or ``[B, C, H, W]`` (class axis third from the end). Every helper returns a new array
and leaves its input untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.metrics.confusion import IGNORE_INDEX, MetricsError

ZLSS = "zlss"
GZLSS = "gzlss"
SETTINGS = (ZLSS, GZLSS)


def _class_axis_size(scores: np.ndarray) -> int:
    if scores.ndim not in (3, 4):
        raise MetricsError(f"scores must be [C, H, W] or [B, C, H, W], got shape {scores.shape}")
    return scores.shape[-3]


def _indices(indices: Iterable[int], num_classes: int, what: str) -> np.ndarray:
    idx = np.unique(np.asarray(list(indices), dtype=np.int64))
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise MetricsError(f"{what} indices {idx.tolist()} fall outside 0..{num_classes - 1}")
    return idx


def _float_copy(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    dtype = scores.dtype if np.issubdtype(scores.dtype, np.floating) else np.float32
    return scores.astype(dtype, copy=True)


def restrict_scores(scores: np.ndarray, allowed_indices: Iterable[int]) -> np.ndarray:
    """Set the scores of every class not in ``allowed_indices`` to ``-inf`` so argmax never picks it.

    Args:
        scores: ``[C, H, W]`` or ``[B, C, H, W]`` class scores (logits, similarities or probabilities).
        allowed_indices: Classes the argmax may choose; must not be empty.

    Returns:
        A float copy of ``scores``.

    Example:
        >>> s = np.array([[[0.9]], [[0.5]], [[0.1]]])
        >>> int(restrict_scores(s, [0, 2]).argmax(axis=0)[0, 0])
        0
        >>> int(restrict_scores(s, [2]).argmax(axis=0)[0, 0])
        2
    """
    num_classes = _class_axis_size(np.asarray(scores))
    allowed = _indices(allowed_indices, num_classes, "allowed")
    if allowed.size == 0:
        raise MetricsError("restrict_scores needs at least one allowed class")
    out = _float_copy(scores)
    blocked = np.setdiff1d(np.arange(num_classes), allowed)
    out[..., blocked, :, :] = -np.inf
    return out


def calibrate(scores: np.ndarray, seen_indices: Iterable[int], gamma: float) -> np.ndarray:
    """Subtract ``gamma`` from the score rows ``seen_indices`` (SPNet-C calibration for GZLSS).

    The rule for *which* rows are seen (named seen classes, and background when the model scores it) belongs to
    :func:`core.metrics.calibration.calibration_offsets`, which eval, predict and the app use; this index form
    serves :class:`~core.metrics.Evaluator` callers that already hold the indices.

    Seen classes dominate the argmax of a model trained on them only; lowering their scores by a constant lets
    unseen classes win where the model hesitates.

    Example:
        >>> s = np.array([[[0.6]], [[0.5]]])  # class 0 seen, class 1 unseen
        >>> int(calibrate(s, [0], 0.2).argmax(axis=0)[0, 0])
        1
    """
    from core.metrics.calibration import check_gamma

    num_classes = _class_axis_size(np.asarray(scores))
    seen = _indices(seen_indices, num_classes, "seen")
    out = _float_copy(scores)
    gamma = check_gamma(gamma)  # the one validation; which rows count as seen is the caller's (see calibration)
    if gamma:
        out[..., seen, :, :] -= out.dtype.type(gamma)
    return out


def zlss_target(
    label: np.ndarray, seen_indices: Iterable[int], ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """A copy of ``label`` with the seen classes' pixels set to ``ignore_index`` (ZLSS ground truth).

    Example:
        >>> zlss_target(np.array([[0, 1, 2]], dtype=np.uint8), [0, 1]).tolist()
        [[255, 255, 2]]
    """
    label = np.asarray(label)
    seen = np.asarray(list(seen_indices), dtype=np.int64)
    out = label.copy()
    if seen.size:
        out[np.isin(label, seen)] = ignore_index
    return out


def zlss_allowed(num_classes: int, unseen_indices: Iterable[int], background: int = 0) -> np.ndarray:
    """Classes a ZLSS prediction may use: the unseen classes plus background."""
    unseen = _indices(unseen_indices, num_classes, "unseen")
    return np.union1d(unseen, [background])
