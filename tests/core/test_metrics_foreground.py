"""The class-agnostic foreground IoU: any class against background, class identity ignored."""

from __future__ import annotations

import numpy as np

from core.metrics import Evaluator


def test_foreground_iou_ignores_which_class_was_predicted() -> None:
    target = np.array([[0, 0, 1, 1, 2, 2]])
    swapped = np.array([[0, 1, 2, 2, 1, 0]])  # every class wrong, one false and one missed foreground pixel
    evaluator = Evaluator(["background", "cat", "dog"], unseen=["dog"], setting="gzlss", size_edges=None)
    evaluator.add(swapped, target)
    result = evaluator.result()
    assert result["foreground_IoU"] == 3 / 5
    assert result["seen"]["mIoU"] < 0.5  # the per-class metrics see the swap


def test_no_foreground_anywhere_has_no_foreground_iou() -> None:
    evaluator = Evaluator(["background", "cat"], setting="gzlss", size_edges=None)
    evaluator.add(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
    assert evaluator.result()["foreground_IoU"] is None
