"""numpy -> QImage for the canvas layers: label colours, a class heatmap, the uncertainty map."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

LAYERS = ("none", "heatmap", "uncertainty")


def to_qimage(array: np.ndarray) -> QImage:
    """uint8 RGB ``[H, W, 3]`` or RGBA ``[H, W, 4]`` -> an owning QImage."""
    array = np.ascontiguousarray(array)
    h, w, c = array.shape
    fmt = QImage.Format.Format_RGBA8888 if c == 4 else QImage.Format.Format_RGB888
    return QImage(array.data, w, h, array.strides[0], fmt).copy()


def label_rgba(labels: np.ndarray, colors: list[tuple[int, int, int]], visible: list[bool], opacity: float,
               outline: bool = True) -> np.ndarray:
    """Colour each visible class at ``opacity`` (background transparent); class borders drawn opaque."""
    lut = np.zeros((256, 4), np.uint8)
    alpha = int(round(255 * max(0.0, min(1.0, opacity))))
    for i, (color, show) in enumerate(zip(colors, visible, strict=True), start=1):
        if show:
            lut[i] = (*color, alpha)
    rgba = lut[labels]
    if outline and alpha > 0:
        edges = cv2.morphologyEx(labels, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        edges &= rgba[..., 3] > 0
        rgba[edges, 3] = 255
    return rgba


def heat_rgba(values: np.ndarray, opacity: float, colormap: int = cv2.COLORMAP_TURBO) -> np.ndarray:
    """A [0, 1] map in a colour map; alpha grows with the value so low scores leave the image visible."""
    v = np.clip(values, 0, 1)
    rgb = cv2.applyColorMap((v * 255).astype(np.uint8), colormap)[..., ::-1]
    alpha = ((0.35 + 0.65 * np.clip(v * 1.5, 0, 1)) * 255 * opacity).astype(np.uint8)  # low scores still tint
    return np.dstack([rgb, alpha])
