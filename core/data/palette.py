"""The PASCAL VOC colour map: index -> RGB, used for every indexed label PNG zerolabel writes."""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def voc_palette() -> np.ndarray:
    """Return the VOC colour map as ``uint8 [256, 3]`` (0 = black background, 255 = (224, 224, 192) ignore)."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= ((c >> 0) & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette[index] = (r, g, b)
    palette.flags.writeable = False
    return palette
