"""Calibration (SPNet-C): the one rule every path uses (``zerolabel eval``, ``zerolabel predict``, the app).

A model trained on the seen classes only is biased towards them; SPNet subtracts a constant gamma from the
seen-class scores (probabilities) before the argmax so that unseen classes win where the model hesitates.
"Seen" means every score the model was trained to produce: the named seen classes and, for models that score
background (softmax: ZS3Net, SPNet), the background too; background is a trained class counted among the seen
ones (the SPNet / ZS3Net convention on VOC, and :class:`core.metrics.Evaluator`'s ``background_seen``). A sigmoid
model's background is not a score but a threshold rule (no class reaches it), so it is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np

from core.metrics.confusion import MetricsError


def check_gamma(gamma: float) -> float:
    """A finite, non-negative gamma as a float, else a clear error."""
    try:
        value = float(gamma)
    except (TypeError, ValueError):
        raise MetricsError(f"calibration {gamma!r} is not a number; give a value such as 0.2") from None
    if not math.isfinite(value) or value < 0:
        raise MetricsError(f"calibration {gamma!r} must be a finite number >= 0 (e.g. 0.2); 0 turns it off")
    return value


def calibration_offsets(class_names: Sequence[str], seen: Collection[str], gamma: float, *,
                        background_score: bool) -> np.ndarray:
    """float32 ``[1 + C]`` amounts subtracted from the (background, ``class_names``...) probabilities.

    Args:
        class_names: The scored classes, background excluded.
        seen: Names of the classes the model was trained on.
        gamma: The calibration (0 = off).
        background_score: The model scores background (softmax); then background is calibrated as seen.

    Example:
        >>> calibration_offsets(["cat", "dog"], {"cat"}, 0.2, background_score=True).tolist()
        [0.20000000298023224, 0.20000000298023224, 0.0]
    """
    gamma = check_gamma(gamma)
    mask = [background_score, *(name in seen for name in class_names)]
    return np.where(mask, np.float32(gamma), np.float32(0)).astype(np.float32)


def apply_calibration(scores: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``[1 + C, ...]`` scores minus ``offsets`` along the class axis (a new array)."""
    offsets = np.asarray(offsets, np.float32)
    if scores.shape[0] != len(offsets):
        raise MetricsError(f"{scores.shape[0]} score rows but {len(offsets)} calibration offsets")
    return scores - offsets.reshape(-1, *([1] * (scores.ndim - 1))).astype(scores.dtype)
