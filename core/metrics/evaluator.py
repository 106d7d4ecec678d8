"""Evaluate label maps or class scores under ZLSS or GZLSS and produce the metrics dict of ARCHITECTURE.md.

The dict: ``{"setting", "seen": {"PA", "MA", "mIoU"}, "unseen": {...}, "overall": {...}, "hIoU",
"per_class": {name: IoU}}`` plus the extra keys ``num_images``, ``num_pixels``, ``background_seen``,
``gamma``, ``absent_predicted``, ``size_buckets`` and ``object_size``. Fractions are in ``[0, 1]``; a value
that is undefined (no class of a subset present in the ground truth, e.g. ``seen`` under ZLSS, or nothing
evaluated at all) is ``None``, never ``NaN``, so the dict always serialises to strict JSON.

Conventions:

* Background (index 0) counts as a seen class by default (``background_seen=True``), as SPNet and ZS3Net count
  it on VOC. With ``background_seen=False`` it is in ``overall`` only.
* Classes absent from the ground truth are left out of every mean and of ``per_class``.
* Classes predicted on evaluated pixels but absent from the ground truth have no IoU; they are listed in
  ``absent_predicted`` with the fraction of evaluated pixels given to them. Their false positives already
  lower the accuracy and IoU of the ground-truth classes they covered.
* ZLSS: predictions may use only the unseen classes and background; ground-truth pixels of the seen classes
  are ignored (so with the default, background ground truth is ignored too and ZLSS mIoU is the unseen mIoU,
  as in SPNet and the RN paper). ``seen`` and ``hIoU`` are then ``None``.
* Calibration (``gamma``, SPNet-C) subtracts ``gamma`` from the scores of the ``seen`` subset before the
  argmax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from core.metrics.confusion import (
    IGNORE_INDEX,
    ConfusionMatrix,
    MetricsError,
    harmonic_mean,
    per_class_iou,
    subset_metrics,
    subsets,
)
from core.metrics.sizes import DEFAULT_SIZE_EDGES, SizeStats
from core.metrics.zeroshot import GZLSS, SETTINGS, ZLSS, calibrate, restrict_scores, zlss_allowed, zlss_target

BACKGROUND_INDEX = 0


class Evaluator:
    """Accumulates (prediction, ground truth) pairs and reports ZS3Net-style metrics.

    Args:
        class_names: Class names by index; index 0 is background.
        unseen: Names of the unseen classes (a subset of ``class_names``, never the background).
        setting: ``"gzlss"`` (argmax over all classes) or ``"zlss"`` (unseen + background only, seen ground
            truth ignored).
        background_seen: Count background among the seen classes (SPNet/ZS3Net convention on VOC).
        gamma: Calibration subtracted from seen-class scores in :meth:`add_scores` (0 = off).
        ignore_index: Ground-truth value that is skipped.
        size_edges: Object-size bucket edges (RN Fig. 10-11), or ``None`` to skip size statistics.

    Example:
        >>> ev = Evaluator(["background", "cat", "dog"], unseen=["dog"])
        >>> ev.add(np.array([[0, 1], [2, 2]]), np.array([[0, 1], [2, 255]]))
        >>> m = ev.result()
        >>> m["overall"]["PA"], m["hIoU"]
        (1.0, 1.0)
    """

    def __init__(
        self,
        class_names: Sequence[str],
        unseen: Iterable[str] = (),
        setting: str = GZLSS,
        *,
        background_seen: bool = True,
        gamma: float = 0.0,
        ignore_index: int = IGNORE_INDEX,
        size_edges: Sequence[float] | None = DEFAULT_SIZE_EDGES,
    ) -> None:
        self.class_names = tuple(class_names)
        self.setting = _check_setting(setting)
        self.background_seen = background_seen
        self.gamma = float(gamma)
        self.ignore_index = ignore_index
        _check_unique(self.class_names)
        self.unseen_names = tuple(unseen)
        unseen_idx = _name_indices(self.class_names, self.unseen_names)
        if self.setting == ZLSS and not unseen_idx:
            raise MetricsError(
                "the ZLSS setting needs at least one unseen class; pass unseen=[...] or use gzlss"
            )
        num = len(self.class_names)
        self.groups = subsets(num, unseen_idx, background_seen=background_seen, background=BACKGROUND_INDEX)
        zlss = self.setting == ZLSS
        self.allowed = zlss_allowed(num, unseen_idx, BACKGROUND_INDEX) if zlss else np.arange(num)
        self._allowed_lut = np.zeros(num, dtype=bool)
        self._allowed_lut[self.allowed] = True
        self.confusion = ConfusionMatrix(num, ignore_index)
        self.sizes = SizeStats(num, size_edges) if size_edges is not None else None
        self.num_images = 0

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def add(self, pred: np.ndarray, target: np.ndarray) -> None:
        """Add label maps: ``pred`` and ``target`` both ``[H, W]`` or both ``[B, H, W]``.

        Under ZLSS, ``pred`` must already be restricted to the unseen classes and background (use
        :meth:`add_scores` to have the restriction applied); seen-class ground truth is ignored here.
        """
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.shape != target.shape:
            raise MetricsError(f"pred shape {pred.shape} differs from target shape {target.shape}")
        if target.ndim not in (2, 3):
            raise MetricsError(f"label maps must be [H, W] or [B, H, W], got shape {target.shape}")
        self._add_labels(pred, target, check_allowed=self.setting == ZLSS)

    def add_scores(self, scores: np.ndarray, target: np.ndarray) -> None:
        """Add class scores ``[C, H, W]`` / ``[B, C, H, W]`` against ``target`` ``[H, W]`` / ``[B, H, W]``.

        Applies calibration (``gamma``) and, under ZLSS, the restriction to unseen classes + background before
        the argmax.
        """
        scores, target = np.asarray(scores), np.asarray(target)
        if scores.ndim != target.ndim + 1 or target.ndim not in (2, 3):
            raise MetricsError(
                f"scores {scores.shape} and target {target.shape} do not match: expected [C, H, W] with "
                "[H, W] or [B, C, H, W] with [B, H, W]"
            )
        if scores.shape[-3] != self.num_classes:
            raise MetricsError(
                f"scores hold {scores.shape[-3]} classes but the evaluator has {self.num_classes}"
            )
        if scores.shape[-2:] != target.shape[-2:] or scores.shape[:-3] != target.shape[:-2]:
            raise MetricsError(
                f"scores {scores.shape} do not cover target {target.shape}; "
                "resize the scores to the label size"
            )
        if self.gamma:
            scores = calibrate(scores, self.groups["seen"], self.gamma)
        if self.setting == ZLSS:
            scores = restrict_scores(scores, self.allowed)
        self._add_labels(scores.argmax(axis=-3), target, check_allowed=False)

    def _add_labels(self, pred: np.ndarray, target: np.ndarray, *, check_allowed: bool) -> None:
        if target.ndim == 2:
            pred, target = pred[None], target[None]
        for p, t in zip(pred, target, strict=True):
            if self.setting == ZLSS:
                t = zlss_target(t, self.groups["seen"], self.ignore_index)
            counts = self.confusion.compute(p, t)  # validates ranges before the lookup below
            if check_allowed and not self._allowed_lut[p].all():
                bad = sorted({self.class_names[i] for i in np.unique(p) if not self._allowed_lut[i]})
                raise MetricsError(
                    f"ZLSS predictions may only use the unseen classes and background, got {bad}; "
                    "pass scores to add_scores (or restrict_scores before the argmax)"
                )
            self.confusion.matrix += counts
            if self.sizes is not None:
                self.sizes.update(counts, int(t.size))
            self.num_images += 1

    def merge(self, other: Evaluator) -> Evaluator:
        """Add another evaluator's counts (same classes, split and setting), e.g. from another shard."""
        same = (
            other.class_names == self.class_names
            and other.setting == self.setting
            and np.array_equal(other.groups["seen"], self.groups["seen"])
            and np.array_equal(other.groups["unseen"], self.groups["unseen"])
        )
        if not same:
            raise MetricsError("cannot merge evaluators with different classes, unseen split or setting")
        self.confusion.merge(other.confusion)
        if self.sizes is not None and other.sizes is not None:
            self.sizes.merge(other.sizes)
        self.num_images += other.num_images
        return self

    def result(self) -> dict:
        """The metrics dict (see the module docstring); safe to call at any time, even before any pair."""
        matrix = self.confusion.matrix
        parts = {name: subset_metrics(matrix, idx) for name, idx in self.groups.items()}
        ious = per_class_iou(matrix)
        total = self.confusion.total
        pred_counts = self.confusion.pred_counts()
        out: dict = {"setting": self.setting}
        out.update({name: parts[name].as_dict() for name in ("seen", "unseen", "overall")})
        out["hIoU"] = harmonic_mean(parts["seen"].mIoU, parts["unseen"].mIoU)
        out["foreground_IoU"] = foreground_iou(matrix)
        out["per_class"] = {
            self.class_names[i]: float(ious[i]) for i in range(self.num_classes) if not np.isnan(ious[i])
        }
        out["num_images"] = self.num_images
        out["num_pixels"] = total
        out["background_seen"] = self.background_seen
        out["gamma"] = self.gamma
        out["absent_predicted"] = {
            self.class_names[i]: float(pred_counts[i] / total) for i in self.confusion.absent_predicted()
        }
        if self.sizes is not None:
            out["size_buckets"] = self.sizes.as_dict(self.groups)
            sizes = zip(self.class_names, self.sizes.mean_object_size(), strict=True)
            out["object_size"] = {name: float(size) for name, size in sizes if not np.isnan(size)}
        return out


def foreground_iou(matrix: np.ndarray) -> float | None:
    """IoU of "any class" against background (row/column 0), class identity ignored: what a class-agnostic
    model (the U-Net baseline) can be measured on. ``None`` without foreground in target or prediction.

    Example:
        >>> foreground_iou(np.array([[5, 1, 0], [1, 0, 2], [0, 1, 3]]))  # 6 fg hits, 1 fg false, 1 fg missed
        0.75
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    hits, false, missed = matrix[1:, 1:].sum(), matrix[0, 1:].sum(), matrix[1:, 0].sum()
    union = hits + false + missed
    return float(hits / union) if union else None


def evaluate(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
    unseen: Iterable[str] = (),
    setting: str = GZLSS,
    **options,
) -> dict:
    """Evaluate an iterable of ``(pred, target)`` or ``(scores, target)`` pairs and return the metrics dict.

    A first element with the same number of dimensions as the target is a label map; with one more it is a
    score map (class axis third from the end). ``options`` go to :class:`Evaluator`.

    Example:
        >>> names = ["background", "cat", "dog"]
        >>> scores = np.zeros((3, 1, 2)); scores[1] = 1.0  # cat everywhere, but cat is seen
        >>> target = np.array([[2, 2]])
        >>> evaluate([(scores, target)], names, unseen=["dog"], setting="zlss")["unseen"]["mIoU"]
        0.0
    """
    evaluator = Evaluator(class_names, unseen, setting, **options)
    for first, target in pairs:
        first, target = np.asarray(first), np.asarray(target)
        if first.ndim == target.ndim:
            evaluator.add(first, target)
        elif first.ndim == target.ndim + 1:
            evaluator.add_scores(first, target)
        else:
            raise MetricsError(
                f"cannot tell a label map from scores: got {first.shape} against target {target.shape}"
            )
    return evaluator.result()


def _check_setting(setting: str) -> str:
    value = str(setting).lower()
    if value not in SETTINGS:
        raise MetricsError(f"unknown setting {setting!r}; choose one of {', '.join(SETTINGS)}")
    return value


def _check_unique(names: tuple[str, ...]) -> None:
    if not names:
        raise MetricsError("the class list is empty; give at least the background class")
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})
    if dupes:
        raise MetricsError(f"class names must be unique; repeated: {dupes}")


def _name_indices(class_names: tuple[str, ...], names: Sequence[str]) -> list[int]:
    lookup = {name: i for i, name in enumerate(class_names)}
    unknown = [n for n in names if n not in lookup]
    if unknown:
        raise MetricsError(f"unseen classes {unknown} are not in the class list {list(class_names)}")
    indices = sorted({lookup[n] for n in names})
    if BACKGROUND_INDEX in indices:
        raise MetricsError(f"the background class {class_names[BACKGROUND_INDEX]!r} cannot be unseen")
    return indices
