"""Mask editing helpers without Qt: click-to-refine along image edges, flood fill, polygon fill.

:func:`refine_click` grows (``add=True``) or cuts (``add=False``) one class's boolean mask from a single click with
OpenCV's GrabCut, seeded by the click and the earlier clicks (certain) and the current mask (probable); a cut grows
the background from the click the same way. It works on a window around the click and the mask, downscaled to at
most ``work`` pixels a side, so a click on a 12 MP photo costs about what one on a small image does. Only the
region connected to the click changes: a click never paints far away.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK = 320  # the working window's longest side in pixels
FLOOD = 12  # colour tolerance of the region around a click that starts as probably the object


def _window(mask: np.ndarray, x: int, y: int, grow: float) -> tuple[int, int, int, int]:
    """y0, x0, y1, x1: a square around the click (``grow`` times the image's side each way) joined with the mask's
    box, padded by a tenth."""
    h, w = mask.shape
    half = max(24, int(grow * max(h, w)))
    y0, x0, y1, x1 = y - half, x - half, y + half + 1, x + half + 1
    ys, xs = np.nonzero(mask)
    if len(ys):
        y0, x0 = min(y0, ys.min()), min(x0, xs.min())
        y1, x1 = max(y1, ys.max() + 1), max(x1, xs.max() + 1)
    pad_y, pad_x = (y1 - y0) // 10, (x1 - x0) // 10
    return max(0, y0 - pad_y), max(0, x0 - pad_x), min(h, y1 + pad_y), min(w, x1 + pad_x)


def _component_at(region: np.ndarray, x: int, y: int) -> np.ndarray:
    """The 8-connected part of ``region`` holding (x, y); empty when the point is outside it."""
    if not region[y, x]:
        return np.zeros_like(region)
    _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    return labels == labels[y, x]


def refine_click(rgb: np.ndarray, mask: np.ndarray, x: int, y: int, add: bool = True, work: int = WORK,
                 iterations: int = 4, seeds: list[tuple[int, int, bool]] | None = None) -> np.ndarray:
    """The mask after one click at (x, y): ``add`` grows it by the image region around the click that looks like
    the click and the mask; otherwise the part of the mask around the click that looks unlike the rest is cut.
    ``seeds``: the earlier clicks on this mask (x, y, add); they stay certain object / background, so a cut is
    not grown back and a click that added a part is not cut again."""
    mask = mask.astype(bool)
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h):
        return mask.copy()
    if not add:  # a cut grows the background at the click, then takes that from the mask
        flipped = [(sx, sy, not s_add) for sx, sy, s_add in seeds or ()]
        grown = refine_click(rgb, ~mask, x, y, True, work, iterations, flipped)
        return mask & ~_component_at(mask & grown, x, y)  # only the piece of the mask around the click
    grow = 0.2
    for _ in range(3):  # a region reaching the window's edge is grown again in a window 2.5 times as large
        y0, x0, y1, x1 = _window(mask, x, y, grow)
        change, touches = _grow(rgb, mask, x, y, (y0, x0, y1, x1), work, iterations, seeds)
        if not touches:
            break
        grow *= 2.5
    out = mask.copy()
    out[y0:y1, x0:x1] |= change
    return out


def _grow(rgb: np.ndarray, mask: np.ndarray, x: int, y: int, box: tuple[int, int, int, int], work: int,
          iterations: int, seeds) -> tuple[np.ndarray, bool]:
    """The region to add in ``box`` (full resolution) and whether it reaches the box's edge inside the image."""
    y0, x0, y1, x1 = box
    h, w = mask.shape
    scale = min(1.0, work / max(y1 - y0, x1 - x0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1, :3])
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    m = cv2.resize(mask[y0:y1, x0:x1].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    cx, cy = min(size[0] - 1, int((x - x0) * scale)), min(size[1] - 1, int((y - y0) * scale))
    r = max(2, round(0.015 * max(size)))
    seed = np.zeros(m.shape, np.uint8)
    cv2.circle(seed, (cx, cy), r, 1, -1)
    near = np.zeros(m.shape, np.uint8)
    cv2.circle(near, (cx, cy), 6 * r, 1, -1)
    alike = flood_region(cv2.GaussianBlur(small, (3, 3), 0), cx, cy, FLOOD)  # the click's colour, connected
    near[alike] = 1
    g = np.full(m.shape, cv2.GC_PR_BGD, np.uint8)
    g[m] = cv2.GC_PR_FGD
    g[near > 0] = cv2.GC_PR_FGD
    inner = cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2) > 0
    g[inner] = cv2.GC_FGD
    border = np.zeros(m.shape, bool)  # the window's edges inside the image are background
    border[0, :], border[-1, :] = y0 > 0, y1 < h
    border[:, 0], border[:, -1] = x0 > 0, x1 < w
    g[border] = cv2.GC_BGD
    for sx, sy, s_add in seeds or ():
        px, py = int((sx - x0) * scale), int((sy - y0) * scale)
        if 0 <= px < size[0] and 0 <= py < size[1]:
            cv2.circle(g, (px, py), r, int(cv2.GC_FGD if s_add else cv2.GC_BGD), -1)
    g[seed > 0] = cv2.GC_FGD
    result = _grabcut(small, g, iterations)
    fg = (result == cv2.GC_FGD) | (result == cv2.GC_PR_FGD)
    change = _component_at(fg, cx, cy) | (seed > 0)
    inner = np.zeros(change.shape, bool)  # the band along the window's edges that lie inside the image
    inner[:2, :], inner[-2:, :] = y0 > 0, y1 < h
    inner[:, :2] |= x0 > 0
    inner[:, -2:] |= x1 < w
    if change.sum() < 4 * (seed > 0).sum():  # GrabCut could not tell the click's region from the rest (the same
        change |= alike  # colours outside it, or the window's edge cuts it): the click's colour, connected
    touches = bool((change & inner).any())
    if scale < 1:
        change = cv2.resize(change.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) > 0
    return change, touches


def _grabcut(image: np.ndarray, g: np.ndarray, iterations: int) -> np.ndarray:
    """GrabCut from a seed mask; when one side has no pixels to learn from, the seeds are the answer."""
    fg = np.isin(g, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if fg.all() or not fg.any():
        return g
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    g = g.copy()
    cv2.setRNGSeed(0)  # GrabCut's k-means starts from OpenCV's global generator: the same click, the same answer
    cv2.grabCut(image, g, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return g


def flood_region(rgb: np.ndarray, x: int, y: int, tolerance: int = 24) -> np.ndarray:
    """The 4-connected region around (x, y) whose colour is within ``tolerance`` (0..255, per channel) of the
    clicked pixel's."""
    h, w = rgb.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return np.zeros((h, w), bool)
    flood = np.zeros((h + 2, w + 2), np.uint8)
    t = (int(tolerance),) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    cv2.floodFill(np.ascontiguousarray(rgb[..., :3]), flood, (int(x), int(y)), 0, t, t, flags)
    return flood[1:-1, 1:-1] > 0


def polygon_mask(shape: tuple[int, int], points: list[tuple[float, float]]) -> np.ndarray:
    """The filled polygon (or lasso path, closed) through image points (x, y), as a boolean mask of ``shape``."""
    out = np.zeros(shape, np.uint8)
    if len(points) >= 3:
        pts = np.round(np.asarray(points, np.float64)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(out, [pts], 1)
    return out > 0
