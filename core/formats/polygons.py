"""Label maps to polygons and back, for the polygon formats (YOLO-seg, LabelMe, COCO polygons).

A class's pixels split into connected regions (8-connected, as :func:`cv2.findContours` traces them). Each region
becomes ONE closed ring of pixel-centre coordinates: its outer border, with every hole joined in by a zero-width
bridge (straight up from the hole's topmost point to the first border above it, around the hole, back down the
same segment), the way polygon formats without holes carry them. The bridge runs through the region's own pixels
only, so rasterising a ring with :func:`rasterise` (``cv2.fillPoly``, even-odd, border pixels included) gives the
region back exactly; ``bench/polygon_roundtrip.py`` measures it, also with the other tools' rasterisers.

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


class _Rings:
    """Join holes into their region's outer border as a linked list of points (earcut's hole elimination).

    A hole is joined at its topmost point by a vertical bridge up to the first border pixel above it: every
    pixel on the way is the region's own (it is inside the region until a border), so the bridge adds no pixel
    even for rasterisers that paint edges, and it costs one column scan per hole.
    """

    def __init__(self, contours: list[np.ndarray], shape: tuple[int, int]) -> None:
        self.pts = np.concatenate(contours).astype(np.int64)
        sizes = np.array([len(c) for c in contours])
        self.start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        index = np.arange(len(self.pts))
        first = np.repeat(self.start, sizes)
        self.nxt = np.where(index + 1 - first < np.repeat(sizes, sizes), index + 1, first).tolist()
        self.prv = np.where(index > first, index - 1, first + np.repeat(sizes, sizes) - 1).tolist()
        self.pts_list = self.pts.tolist()
        self.owner = np.full(shape, -1, np.int32)  # which contour a border pixel belongs to (outer wins)
        self.node = np.zeros(shape, np.int32)  # and its node index

    def paint(self, order: list[int]) -> None:
        for c in order:
            lo = self.start[c]
            hi = self.start[c + 1] if c + 1 < len(self.start) else len(self.pts)
            ys, xs = self.pts[lo:hi, 1], self.pts[lo:hi, 0]
            self.owner[ys, xs] = c
            self.node[ys, xs] = np.arange(lo, hi, dtype=np.int32)

    def join(self, hole: int, joined: np.ndarray, fallback: int) -> None:
        lo = self.start[hole]
        hi = self.start[hole + 1] if hole + 1 < len(self.start) else len(self.pts)
        top = lo + int(np.lexsort((self.pts[lo:hi, 0], self.pts[lo:hi, 1]))[0])
        x, y = self.pts_list[top]
        column = self.owner[: y + 1, x][::-1]
        ok = (column >= 0) & (column != hole)
        ok[ok] = joined[column[ok]]
        a = int(self.node[y - int(np.argmax(ok)), x]) if ok.any() else fallback
        b = top
        a2, b2 = len(self.pts_list), len(self.pts_list) + 1
        self.pts_list += [self.pts_list[a], self.pts_list[b]]
        an, bp = self.nxt[a], self.prv[b]
        self.nxt += [an, a2]
        self.prv += [b2, bp]
        self.nxt[a], self.prv[b] = b, a
        self.prv[an] = a2
        self.nxt[bp] = b2

    def ring(self, outer: int) -> np.ndarray:
        first = self.start[outer]
        out, node = [self.pts_list[first]], self.nxt[first]
        while node != first:
            out.append(self.pts_list[node])
            node = self.nxt[node]
        return np.array(out, dtype=np.int64)


def mask_rings(mask: np.ndarray, corners: bool = False) -> list[tuple[np.ndarray, float, float]]:
    """``(ring, area, outer area)`` of a boolean mask, one per 8-connected region (holes bridged in).

    ``corners``: the rings run along pixel edges (pixel (x, y) is the square x..x+1, y..y+1, COCO's convention)
    instead of through the centres of the border pixels; traced on the mask upscaled 2x, where sub-pixel u lies
    on the pixel edge (u + u % 2) / 2.
    """
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if corners:
        m = np.ascontiguousarray(m.repeat(2, axis=0).repeat(2, axis=1))
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return []
    tree = hierarchy[0]
    flat = [c.reshape(-1, 2) for c in contours]
    holes_of = {k: [] for k in range(len(flat)) if tree[k][3] == -1}
    for k in range(len(flat)):
        if tree[k][3] != -1:
            holes_of[int(tree[k][3])].append(k)
    rings: _Rings | None = None
    if any(holes_of.values()):
        rings = _Rings(flat, m.shape)
        tops = {h: (int(flat[h][:, 1].min()), int(flat[h][:, 0].min())) for hs in holes_of.values() for h in hs}
        rings.paint(sorted(tops, key=lambda h: tops[h], reverse=True) + list(holes_of))
        joined = np.zeros(len(flat), bool)
        joined[list(holes_of)] = True
        for outer, hs in holes_of.items():
            for h in sorted(hs, key=lambda h: tops[h]):
                rings.join(h, joined, int(rings.start[outer]))
                joined[h] = True
    out: list[tuple[np.ndarray, float, float]] = []
    for k, hs in holes_of.items():
        ring = rings.ring(k) if hs and rings is not None else flat[k].astype(np.int64)
        parts = [flat[k], *(flat[h] for h in hs)]
        if corners:
            ring = (ring + ring % 2) // 2
            parts = [(p + p % 2) // 2 for p in parts]
        ring = _simplify(ring.reshape(-1, 1, 2)).reshape(-1, 2)
        outer = float(cv2.contourArea(parts[0].reshape(-1, 1, 2).astype(np.int32)))
        area = outer - sum(float(cv2.contourArea(p.reshape(-1, 1, 2).astype(np.int32))) for p in parts[1:])
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
    dot = (pts[:, 0] - prev[:, 0]) * (nxt[:, 0] - pts[:, 0]) + (pts[:, 1] - prev[:, 1]) * (nxt[:, 1] - pts[:, 1])
    turn = (cross != 0) | (dot <= 0)  # a corner, or a turn back (a one-pixel-wide part): both kept
    keep = pts[turn] if turn.sum() >= 3 else pts
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
    paint_rings(out, shapes)
    return out


def paint_rings(out: np.ndarray, shapes: list[tuple[int, np.ndarray]]) -> None:
    """:func:`rasterise` onto an existing label map ``out`` (each ring filled within its bounding box)."""
    shape = out.shape
    for value, ring in shapes:
        pts = np.rint(np.asarray(ring, dtype=np.float64)).astype(np.int32).reshape(-1, 2)
        lo = np.maximum(pts.min(axis=0), 0)
        hi = np.minimum(pts.max(axis=0) + 1, (shape[1], shape[0]))
        if (hi <= lo).any():
            continue
        layer = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), dtype=np.uint8)  # only the ring's bounding box
        cv2.fillPoly(layer, [(pts - lo).reshape(-1, 1, 2)], 1)
        out[lo[1]:hi[1], lo[0]:hi[0]][layer.astype(bool)] = value


def fill_centres(shape: tuple[int, int], rings: list[np.ndarray]) -> np.ndarray:
    """The pixels whose centre (x + 0.5, y + 0.5) lies inside a ring (even-odd), united over ``rings``: COCO's
    reading of polygons in continuous coordinates (pixel (x, y) is the square x..x+1, y..y+1). A centre exactly
    on a slanted edge may come out otherwise than in pycocotools (which rasterises on a 5x grid)."""
    out = np.zeros(shape, dtype=bool)
    paint_centres(out, rings, True)
    return out


def paint_centres(grid: np.ndarray, rings: list[np.ndarray], value: object) -> None:
    """Set the pixels of ``grid`` that :func:`fill_centres` selects to ``value`` (work within each ring's box)."""
    h, w = grid.shape
    for ring in rings:
        pts = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            continue
        a, b = pts, np.roll(pts, -1, axis=0)
        lo_y, hi_y = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
        x0 = max(0, int(np.floor(pts[:, 0].min() - 0.5)))
        x1 = min(w, int(np.ceil(pts[:, 0].max() + 0.5)) + 1)
        centres = np.arange(x0, x1) + 0.5
        for y in range(max(0, int(np.floor(lo_y.min() - 0.5))), min(h - 1, int(np.ceil(hi_y.max() - 0.5))) + 1):
            yc = y + 0.5
            hit = (lo_y <= yc) & (yc < hi_y)
            if not hit.any():
                continue
            a_h, b_h = a[hit], b[hit]
            xs = np.sort(a_h[:, 0] + (yc - a_h[:, 1]) * (b_h[:, 0] - a_h[:, 0]) / (b_h[:, 1] - a_h[:, 1]))
            inside = (np.searchsorted(xs, centres, side="right") % 2).astype(bool)
            grid[y, x0:x1][inside] = value


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
