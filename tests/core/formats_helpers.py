"""Shared fixtures data for the format tests: a small dataset with holes, islands, thin parts and ignore."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter

NAMES = ["background", "red circle", "sky", "tree"]


def scene(seed: int, h: int = 60, w: int = 80, ignore: bool = False) -> np.ndarray:
    """A label map with rings (holes), an island inside a hole, a one-pixel line and a diagonal shape."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((h, w), np.uint8)
    labels[: h // 3] = 2  # sky band across the top
    cx, cy = int(rng.integers(25, 55)), int(rng.integers(28, 40))
    cv2.circle(labels, (cx, cy), 16, 1, -1)
    cv2.circle(labels, (cx, cy), 9, 0, -1)  # hole
    cv2.circle(labels, (cx, cy), 4, 3, -1)  # island of another class inside the hole
    cv2.rectangle(labels, (2, h - 12), (14, h - 3), 3, -1)
    labels[h - 8 : h - 6, 5:9] = 0  # a hole touching nothing else
    labels[h - 2, 20:60] = 1  # a one-pixel line
    pts = np.array([[60, 50], [75, 40], [78, 58]], np.int32)
    cv2.fillPoly(labels, [pts], 2)
    if ignore:
        labels[h // 3 : h // 3 + 2, 30:50] = 255
    return labels


def make_dataset(root: Path, ignore: bool = False) -> tuple[Path, dict[str, np.ndarray]]:
    """Write three images (train, train, val) in zerolabel's layout; returns the root and the label maps."""
    truth = {}
    with DatasetWriter(root, LabelMap.from_names(NAMES)) as writer:
        for k, (sample_id, split) in enumerate([("a", "train"), ("b", "train"), ("c", "val")]):
            labels = scene(k, ignore=ignore and k == 0)
            rgb = np.random.default_rng(k).integers(0, 255, (*labels.shape, 3), dtype=np.uint8)
            writer.add(sample_id, rgb, labels, split=split)
            truth[sample_id] = labels
    return root, truth
