"""Segmentation metrics for zero-shot work (numpy only): ZS3Net's PA/MA/mIoU per seen/unseen/overall, hIoU,
the ZLSS and GZLSS settings, SPNet-C calibration, and IoU by object size (RN paper Fig. 10-11).

Example:
    >>> import numpy as np
    >>> from core.metrics import evaluate
    >>> m = evaluate([(np.array([[0, 2]]), np.array([[0, 2]]))], ["background", "cat", "dog"], unseen=["dog"])
    >>> m["seen"]["mIoU"], m["unseen"]["mIoU"], m["hIoU"]
    (1.0, 1.0, 1.0)
"""

from core.metrics.calibration import apply_calibration, calibration_offsets, check_gamma
from core.metrics.confusion import (
    IGNORE_INDEX,
    ConfusionMatrix,
    MetricsError,
    SubsetMetrics,
    harmonic_mean,
    per_class_accuracy,
    per_class_iou,
    subset_metrics,
    subsets,
)
from core.metrics.evaluator import Evaluator, evaluate
from core.metrics.report import check_contract, format_table, read_json, to_json, write_json
from core.metrics.sizes import DEFAULT_SIZE_EDGES, SizeStats
from core.metrics.zeroshot import GZLSS, ZLSS, calibrate, restrict_scores, zlss_allowed, zlss_target

__all__ = [
    "DEFAULT_SIZE_EDGES",
    "GZLSS",
    "IGNORE_INDEX",
    "ZLSS",
    "ConfusionMatrix",
    "Evaluator",
    "MetricsError",
    "SizeStats",
    "SubsetMetrics",
    "apply_calibration",
    "calibrate",
    "calibration_offsets",
    "check_gamma",
    "check_contract",
    "evaluate",
    "format_table",
    "harmonic_mean",
    "per_class_accuracy",
    "per_class_iou",
    "read_json",
    "restrict_scores",
    "subset_metrics",
    "subsets",
    "to_json",
    "write_json",
    "zlss_allowed",
    "zlss_target",
]
