"""Label maps to polygons and back, for the polygon formats (YOLO-seg, LabelMe, COCO polygons).

A class's pixels split into connected regions (8-connected, as :func:`cv2.findContours` traces them). Each region
becomes ONE closed ring of pixel-centre coordinates: its outer border, with every hole joined in by a zero-width
bridge (out along a segment to the hole's border, around the hole, back along the same segment), the way polygon
formats without holes carry them. Rasterising a ring with :func:`rasterise` (``cv2.fillPoly``, even-odd, border
pixels included) gives the region back; the only pixels that can differ are those a bridge crosses where it leaves
the region (rare: bridges join nearest points). ``bench/polygon_roundtrip.py`` measures the agreement.

Coordinates are pixel indices (x = column, y = row): pixel (x, y) is the point (x, y). YOLO divides by the image
width / height, as Ultralytics' own mask converter does. COCO reads polygons in continuous coordinates (pixel
(x, y) is the square x..x+1, y..y+1, inside when its centre is): ``corners=True`` traces rings along pixel edges
for it, and :func:`fill_centres` reads them that way (both exact, also as pycocotools rasterises them).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.data.base import IGNORE_INDEX
from core.errors import DatasetError


@dataclass(frozen=True)
class Region:
    """One connected region of one class: its ring ``float64 [N, 2]`` (x, y), its polygon area (holes taken
    out) and the area inside its outer border (a region around another has the larger one)."""

    value: int
    ring: np.ndarray
    area: float
    outer: float


def _bridge(ring: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Join ``hole`` into ``ring`` at their nearest pair of points (ring ... a, hole from b around to b, a ...)."""
    d = ((ring[:, None, :] - hole[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(int(np.argmin(d)), d.shape)
    around = np.concatenate([hole[j:], hole[:j + 1]])
    return np.concatenate([ring[:i + 1], around, ring[i:]])


def mask_rings(mask: np.ndarray, corners: bool = False) -> list[tuple[np.ndarray, float, float]]:
    """``(ring, area, outer area)`` of a boolean mask, one per 8-connected region (holes bridged in).

    ``corners``: the rings run along pixel edges (pixel (x, y) is the square x..x+1, y..y+1, COCO's convention)
    instead of through the centres of the border pixels; traced on the mask upscaled 2x, where sub-pixel u lies
    on the pixel edge (u + u % 2) / 2.
    """
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if corners:
        m = np.ascontiguousarray(m.repeat(2, axis=0).repeat(2, axis=1))
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if corners:
        contours = [_simplify((c + c % 2) // 2) for c in contours]
    if not contours:
        return []
    tree = hierarchy[0]
    out: list[tuple[np.ndarray, float, float]] = []
    for k, contour in enumerate(contours):
        if tree[k][3] != -1:  # a hole: joined into its parent below
            continue
        ring = contour.reshape(-1, 2).astype(np.int64)
        child = tree[k][2]
        holes = []
        while child != -1:
            holes.append(contours[child].reshape(-1, 2).astype(np.int64))
            child = tree[child][0]
        for hole in sorted(holes, key=lambda h: (int(h[:, 1].min()), int(h[:, 0].min()))):
            ring = _bridge(ring, hole)
        outer = float(cv2.contourArea(contour))
        area = outer - sum(float(cv2.contourArea(h.astype(np.int32))) for h in holes)
        out.append((ring.astype(np.float64), area, outer))
    return out


def _simplify(contour: np.ndarray) -> np.ndarray:
    """Drop repeated points and points in the middle of straight runs (``[N, 1, 2]`` int contour)."""
    pts = contour.reshape(-1, 2)
    pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)] if len(pts) > 1 else pts
    if len(pts) < 3:
        return pts.reshape(-1, 1, 2).astype(np.int32)
    prev, nxt = np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0)
    cross = (pts[:, 0] - prev[:, 0]) * (nxt[:, 1] - pts[:, 1]) - (pts[:, 1] - prev[:, 1]) * (nxt[:, 0] - pts[:, 0])
    keep = pts[cross != 0] if (cross != 0).sum() >= 3 else pts
    return keep.reshape(-1, 1, 2).astype(np.int32)


def label_regions(labels: np.ndarray, corners: bool = False) -> list[Region]:
    """Every region of every class (not background, not ignore), the largest outer border first, so painting
    them in order puts a region inside another's hole on top of it."""
    regions: list[Region] = []
    for value in np.unique(labels).tolist():
        if value in (0, IGNORE_INDEX):
            continue
        for ring, area, outer in mask_rings(labels == value, corners):
            regions.append(Region(int(value), ring, area, outer))
    regions.sort(key=lambda r: -r.outer)
    return regions


def rasterise(shape: tuple[int, int], shapes: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Paint ``(value, ring)`` pairs in order onto a background label map of ``shape`` (later ones on top)."""
    out = np.zeros(shape, dtype=np.uint8)
    for value, ring in shapes:
        pts = np.rint(np.asarray(ring, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
        if len(pts) == 1:
            out[pts[0, 0, 1], pts[0, 0, 0]] = value
            continue
        layer = np.zeros(shape, dtype=np.uint8)
        cv2.fillPoly(layer, [pts], 1)
        out[layer.astype(bool)] = value
    return out


def fill_centres(shape: tuple[int, int], rings: list[np.ndarray]) -> np.ndarray:
    """The pixels whose centre (x + 0.5, y + 0.5) lies inside a ring (even-odd), united over ``rings``: COCO's
    reading of polygons in continuous coordinates (pixel (x, y) is the square x..x+1, y..y+1). A centre exactly
    on a slanted edge may come out otherwise than in pycocotools (which rasterises on a 5x grid)."""
    h, w = shape
    out = np.zeros(shape, dtype=bool)
    centres_x = np.arange(w) + 0.5
    for ring in rings:
        pts = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            continue
        a, b = pts, np.roll(pts, -1, axis=0)
        lo_y, hi_y = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
        first = max(0, int(np.floor(lo_y.min() - 0.5)))
        last = min(h - 1, int(np.ceil(hi_y.max() - 0.5)))
        for y in range(first, last + 1):
            yc = y + 0.5
            hit = (lo_y <= yc) & (yc < hi_y)
            if not hit.any():
                continue
            a_h, b_h = a[hit], b[hit]
            xs = np.sort(a_h[:, 0] + (yc - a_h[:, 1]) * (b_h[:, 0] - a_h[:, 0]) / (b_h[:, 1] - a_h[:, 1]))
            inside = (np.searchsorted(xs, centres_x, side="right") % 2).astype(bool)
            out[y] |= inside
    return out


def check_points(points: np.ndarray, width: int, height: int, source: str, tolerance: float = 1.0,
                 corners: bool = False) -> np.ndarray:
    """Points ``[N, 2]`` in pixels, checked to lie on the image (within ``tolerance`` pixels), clipped to it
    (to 0..width-1 for pixel-centre points, 0..width for ``corners``)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise DatasetError(f"{source}: a polygon holds a coordinate that is not a finite number")
    if len(pts) < 1:
        raise DatasetError(f"{source}: a polygon without points")
    top = np.array([width, height]) - (0 if corners else 1)
    outside = ((pts < -tolerance) | (pts > top + tolerance)).any(axis=1)
    if outside.any():
        bad = pts[outside][0]
        raise DatasetError(
            f"{source}: polygon point ({bad[0]:g}, {bad[1]:g}) lies outside the {width}x{height} image; "
            "fix the point or the image size in the file")
    return np.clip(pts, 0, top)
