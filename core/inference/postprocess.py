"""Post-processing at the model's working resolution, delivered at the image's: labels, heatmaps, uncertainty.

The scorer's logits stay at the working resolution (a few hundred pixels a side). Full-resolution values are
bilinear samples of them with half-pixel centres (as ``cv2.resize`` / torch ``align_corners=False``), computed
only where needed:

* **Labels**: a bilinear sample is a convex combination of the four low-resolution corners around it, so where
  one class wins at all four corners it wins at every pixel between them (uncalibrated scores are monotone in
  the logits: the sigmoid does not change the ranking, softmax neither). Those pixels take the class directly
  (plus, for sigmoid models, one sample of the winner's logit for the background threshold); only pixels in cells
  whose corners disagree evaluate every class. The result equals the argmax of full-resolution probabilities
  (the former formula) except where float32 sigmoids of two classes both round to 1.0.
* **Heatmaps** and the **uncertainty** map (1 - top-2 margin) are computed on demand, for one class and, if asked,
  only a region.
* Work runs in row bands and class chunks, so memory does not grow with classes x pixels.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.metrics.calibration import apply_calibration

#: Values (classes x pixels) evaluated per chunk; bounds the temporary memory to about 8 MB per array.
CHUNK = 1 << 21
#: Pixels per row band.
BAND = 1 << 19

Region = tuple[int, int, int, int]  # top, bottom, left, right (bottom/right exclusive) in full-resolution pixels


def sample_axis(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear sampling along one axis (half-pixel centres, edges clamped): lower index, upper index, weight."""
    f = (np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5
    i0 = np.floor(f).astype(np.int64)
    a = (f - i0).astype(np.float32)
    low, high = i0 < 0, i0 >= src - 1
    i0[low], a[low] = 0, 0
    i0[high], a[high] = src - 1, 0
    return i0, np.minimum(i0 + 1, src - 1), a


def _bands(height: int, width: int) -> Iterator[tuple[int, int]]:
    step = max(1, BAND // max(1, width))
    for y0 in range(0, height, step):
        yield y0, min(height, y0 + step)


class Scores:
    """Low-resolution logits of one image and the rule that turns them into calibrated class scores.

    Args:
        logits: ``[C, h, w]`` class logits.
        background: ``[1, h, w]`` background logit (softmax models) or ``None`` (sigmoid models).
        size: ``(H, W)`` of the image.
        threshold: sigmoid models: background where no class probability reaches it.
        offsets: ``[1 + C]`` calibration subtracted from (background, classes) probabilities
            (:func:`core.metrics.calibration.calibration_offsets`); ``None`` for none.
    """

    def __init__(self, logits: np.ndarray, background: np.ndarray | None, size: tuple[int, int], *,
                 threshold: float = 0.5, offsets: np.ndarray | None = None) -> None:
        logits = np.asarray(logits, np.float32)
        self.num_classes = int(logits.shape[0])
        self.softmax = background is not None
        self.stack = np.concatenate([np.asarray(background, np.float32), logits]) if self.softmax else logits
        self.low = tuple(self.stack.shape[1:])
        self.flat = np.ascontiguousarray(self.stack.reshape(len(self.stack), self.low[0] * self.low[1]))
        self.size = (int(size[0]), int(size[1]))
        self.threshold = float(threshold)
        self.offsets = None if offsets is None or not np.any(offsets) else np.asarray(offsets, np.float32)
        self.rows = sample_axis(self.low[0], self.size[0])
        self.cols = sample_axis(self.low[1], self.size[1])

    # -- sampling --------------------------------------------------------------------------------------------
    def _points(self, rows: np.ndarray | slice, ys: np.ndarray, xs: np.ndarray,
                flat: np.ndarray | None = None) -> np.ndarray:
        """Logits of stack rows ``rows`` (or of ``flat`` maps) at full-resolution points: ``[k, P]``."""
        (i0, i1, ay), (j0, j1, ax) = self.rows, self.cols
        w = self.low[1]
        r0, r1, c0, c1 = i0[ys] * w, i1[ys] * w, j0[xs], j1[xs]
        bx, by = ax[xs], ay[ys]
        f = (self.flat if flat is None else flat)[rows]
        top = f[:, r0 + c0] * (1 - bx) + f[:, r0 + c1] * bx
        bottom = f[:, r1 + c0] * (1 - bx) + f[:, r1 + c1] * bx
        return top * (1 - by) + bottom * by

    def _grid(self, maps: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """``[k, h, w]`` low-resolution maps sampled on the full-resolution grid ``[y0:y1, x0:x1]``: ``[k, ry, rx]``."""
        (i0, i1, ay), (j0, j1, ax) = self.rows, self.cols
        if self.size == self.low:  # no resampling: the weights are 0 and 1, the values the logits themselves
            return maps[:, y0:y1, x0:x1].astype(np.float32, copy=True)
        bx = ax[x0:x1]
        rows = np.unique(np.concatenate([i0[y0:y1], i1[y0:y1]]))
        sub = maps[:, rows]
        horizontal = sub[:, :, j0[x0:x1]] * (1 - bx) + sub[:, :, j1[x0:x1]] * bx
        lookup = np.searchsorted(rows, i0[y0:y1]), np.searchsorted(rows, i1[y0:y1])
        by = ay[y0:y1, None]
        return horizontal[:, lookup[0]] * (1 - by) + horizontal[:, lookup[1]] * by

    def _calibrated(self, values: np.ndarray) -> np.ndarray:
        """Stack logits ``[K, ...]`` -> calibrated scores ``[1 + C, ...]`` (background first), the former formula."""
        if self.softmax:
            e = np.exp(values - values.max(0, keepdims=True))
            p = e / e.sum(0, keepdims=True)
        else:
            probs = 1.0 / (1.0 + np.exp(-values))
            best = probs.max(0, keepdims=True) if len(probs) else np.zeros((1, *values.shape[1:]), np.float32)
            p = np.concatenate([(best < self.threshold).astype(np.float32), probs])
        return p if self.offsets is None else apply_calibration(p, self.offsets)

    def _point_scores(self, ys: np.ndarray, xs: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """Calibrated scores ``[1 + C, p]`` at points, in chunks of points."""
        step = max(1, CHUNK // max(1, len(self.flat)))
        for s in range(0, len(ys), step):
            part = slice(s, s + step)
            yield part, self._calibrated(self._points(slice(None), ys[part], xs[part]))

    # -- products ----------------------------------------------------------------------------------------------
    def labels(self) -> np.ndarray:
        """uint8 ``[H, W]``: 0 background, ``i`` the i-th class."""
        height, width = self.size
        out = np.empty(self.size, np.uint8)
        if self.offsets is None and len(self.stack) and height * width > 4 * self.low[0] * self.low[1]:
            return self._fast_labels(out)
        # calibrated, or barely upsampled: every pixel evaluates every class, in bands
        for y0, y1, _, _, s in self._region_scores(None):
            out[y0:y1] = s.argmax(0)
        return out

    def _fast_labels(self, out: np.ndarray) -> np.ndarray:
        """Uncalibrated labels: cells whose four corners agree take the class; the others evaluate candidates."""
        height, width = self.size
        h, w = self.low
        winner = self.stack.argmax(0)
        down, right = np.minimum(np.arange(h) + 1, h - 1), np.minimum(np.arange(w) + 1, w - 1)
        agree = (winner == winner[:, right]) & (winner == winner[down]) & (winner == winner[down][:, right])
        (i0, _, _), (j0, _, _) = self.rows, self.cols
        row_runs, col_runs = np.bincount(i0, minlength=h), np.bincount(j0, minlength=w)
        cell = (winner + (0 if self.softmax else 1)).astype(np.uint8)
        settled = agree
        if not self.softmax:  # the background rule: settled where every corner is clearly below or above it
            if 0 < self.threshold < 1:
                cut = np.log(self.threshold / (1 - self.threshold))
                top = self.stack.max(0) if len(self.stack) else np.full(self.low, -np.inf, np.float32)
                high = np.maximum(np.maximum(top, top[:, right]), np.maximum(top[down], top[down][:, right]))
                low = np.minimum(np.minimum(top, top[:, right]), np.minimum(top[down], top[down][:, right]))
                empty = high < cut - 1e-3
                cell[empty] = 0
                settled = empty | (agree & (low > cut + 1e-3))
            else:
                settled = np.zeros_like(agree)
        out[:] = np.repeat(np.repeat(cell, row_runs, 0), col_runs, 1)
        if settled.all():
            return out
        # one class wins the cell but its probability crosses the threshold: sample the winner's logit only
        straddle_rows = np.repeat(agree & ~settled, row_runs, 0)
        boundary_rows = np.repeat(~agree & ~settled, row_runs, 0)
        best = None if self.softmax else self.stack.max(0).reshape(1, -1)
        for y0, y1 in _bands(height, width):
            if straddle_rows[y0:y1].any():
                mask = np.repeat(straddle_rows[y0:y1], col_runs, 1)
                if mask.mean() > 0.125:  # many: sample the band densely (separable, cheaper than gathers)
                    below = self._below(self._grid(best.reshape(1, *self.low), y0, y1, 0, width)[0])
                    out[y0:y1][mask & below] = 0
                else:
                    ys, xs = np.nonzero(mask)
                    ys += y0
                    below = self._below(self._points(slice(None), ys, xs, best)[0])
                    out[ys[below], xs[below]] = 0
            if boundary_rows[y0:y1].any():
                mask = np.repeat(boundary_rows[y0:y1], col_runs, 1)
                share = mask.mean()
                if share > 0.5 or (share > 0.2 and len(self.stack) <= 8):  # mostly boundary: every class, densely
                    for r0, r1, _, _, scores in self._region_scores((y0, y1, 0, width)):
                        part = mask[r0 - y0:r1 - y0]
                        out[r0:r1][part] = scores.argmax(0)[part]
                else:
                    ys, xs = np.nonzero(mask)
                    self._label_boundary(out, ys + y0, xs)
        return out

    def _below(self, logit: np.ndarray) -> np.ndarray:
        """sigmoid(logit) < threshold, as the former formula computed it (the sigmoid only near the cut)."""
        if not 0 < self.threshold < 1:
            return 1.0 / (1.0 + np.exp(-logit)) < self.threshold
        cut = np.log(self.threshold / (1 - self.threshold))
        low = logit < cut
        near = np.abs(logit - cut) < 1e-3
        low[near] = 1.0 / (1.0 + np.exp(-logit[near])) < self.threshold
        return low

    def _label_boundary(self, out: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> None:
        """Pixels in cells whose corners disagree, grouped by cell, in chunks of cells."""
        (i0, _, _), (j0, _, _) = self.rows, self.cols
        cells = i0[ys] * self.low[1] + j0[xs]
        sort = np.argsort(cells, kind="stable")
        ys, xs, cells = ys[sort], xs[sort], cells[sort]
        boundary, starts = np.unique(cells, return_index=True)
        starts = np.append(starts, len(cells))
        step = max(1, CHUNK // (4 * len(self.flat)))
        for b0 in range(0, len(boundary), step):
            b1 = min(len(boundary), b0 + step)
            p0, p1 = starts[b0], starts[b1]
            self._label_cells(out, boundary[b0:b1], ys[p0:p1], xs[p0:p1], np.repeat(
                np.arange(b1 - b0), np.diff(starts[b0:b1 + 1])))

    def _label_cells(self, out: np.ndarray, boundary: np.ndarray, ys: np.ndarray, xs: np.ndarray,
                     where: np.ndarray) -> None:
        """Exact labels of the pixels ``(ys, xs)`` lying in low-resolution cells ``boundary[where]``."""
        h, w = self.low
        bi, bj = np.divmod(boundary, w)
        bi1, bj1 = np.minimum(bi + 1, h - 1), np.minimum(bj + 1, w - 1)
        corners = np.stack([bi * w + bj, bi * w + bj1, bi1 * w + bj, bi1 * w + bj1])  # [4, nb]
        values = self.flat[:, corners]  # [K, 4, nb]
        candidate = values.max(1) >= values.min(1).max(0)
        few = candidate.sum(0) <= 4
        order = np.argsort(~candidate, axis=0, kind="stable")[:4]  # candidates first, by class index
        if len(order) < 4:
            order = np.concatenate([order, np.repeat(order[:1], 4 - len(order), 0)])
        order = np.where(candidate[order, np.arange(len(boundary))], order, order[0])  # pad with the first one
        near = np.take_along_axis(values, order[:, None, :], axis=0).transpose(2, 0, 1).copy()  # [nb, 4, 4]
        pick = few[where]
        if not pick.all():
            self._label_points(out, ys[~pick], xs[~pick])
        ys, xs, where = ys[pick], xs[pick], where[pick]
        (_, _, ay), (_, _, ax) = self.rows, self.cols
        bx, by = ax[xs][:, None], ay[ys][:, None]
        c = near[where]  # [P, 4 classes, 4 corners]
        top = c[:, :, 0] * (1 - bx) + c[:, :, 1] * bx
        bottom = c[:, :, 2] * (1 - bx) + c[:, :, 3] * bx
        value = top * (1 - by) + bottom * by
        k = value.argmax(1)
        rows = np.arange(len(k))
        cls = order[k, where]
        if self.softmax:
            out[ys, xs] = cls
        else:
            out[ys, xs] = np.where(self._below(value[rows, k]), 0, cls + 1)

    def _label_points(self, out: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> None:
        """Exact labels at points from every class."""
        for part, s in self._point_scores(ys, xs):
            out[ys[part], xs[part]] = s.argmax(0)

    def _region(self, region: Region | None) -> Region:
        height, width = self.size
        if region is None:
            return 0, height, 0, width
        top, bottom, left, right = (int(v) for v in region)
        return max(0, top), min(height, bottom), max(0, left), min(width, right)

    def _region_scores(self, region: Region | None) -> Iterator[tuple[int, int, int, int, np.ndarray]]:
        """Calibrated scores ``[1 + C, rows, cols]`` over a region, in row bands of bounded size."""
        top, bottom, left, right = self._region(region)
        rows = max(1, CHUNK // max(1, len(self.flat) * max(1, right - left)))
        for y0 in range(top, bottom, rows):
            y1 = min(bottom, y0 + rows)
            yield y0, y1, left, right, self._calibrated(self._grid(self.stack, y0, y1, left, right))

    def heatmap(self, index: int, region: Region | None = None) -> np.ndarray:
        """float32 ``[rows, cols]`` in [0, 1]: the calibrated probability of class ``index`` (0-based)."""
        if not 0 <= index < self.num_classes:
            raise IndexError(f"class {index} of {self.num_classes}")
        top, bottom, left, right = self._region(region)
        if self.softmax:
            out = np.empty((bottom - top, right - left), np.float32)
            for y0, y1, _, _, s in self._region_scores(region):
                out[y0 - top:y1 - top] = s[index + 1]
        else:
            logit = self._grid(self.stack[index:index + 1], top, bottom, left, right)[0]
            out = 1.0 / (1.0 + np.exp(-logit))
            if self.offsets is not None:
                out -= self.offsets[index + 1]
        return np.clip(out, 0, 1).astype(np.float32, copy=False)

    def uncertainty(self, region: Region | None = None) -> np.ndarray:
        """float32 ``[rows, cols]``: 1 - (best - second best) calibrated score, background included."""
        top, bottom, left, right = self._region(region)
        out = np.empty((bottom - top, right - left), np.float32)
        for y0, y1, _, _, s in self._region_scores(region):
            if len(s) < 2:
                s = np.concatenate([s, np.zeros_like(s)])
            top2 = np.partition(s, len(s) - 2, axis=0)[-2:]
            out[y0 - top:y1 - top] = 1 - (top2[1] - top2[0])
        return out

    def max_class_score(self, region: Region | None = None) -> np.ndarray:
        """float32 ``[rows, cols]``: the best class's clipped calibrated probability (background excluded)."""
        top, bottom, left, right = self._region(region)
        out = np.zeros((bottom - top, right - left), np.float32)
        if self.num_classes:
            for y0, y1, _, _, s in self._region_scores(region):
                out[y0 - top:y1 - top] = np.clip(s[1:], 0, 1).max(0)
        return out

    def _labelled(self, labels: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``(ys, xs, label, clipped calibrated probability of that label)`` of labelled pixels, in chunks."""
        for y0, y1 in _bands(*self.size):
            ys, xs = np.nonzero(labels[y0:y1])
            ys += y0
            lab = labels[ys, xs].astype(np.int64)
            if self.softmax:  # the probability needs every class's logit
                for part, s in self._point_scores(ys, xs):
                    yield ys[part], xs[part], lab[part], np.clip(s[lab[part], np.arange(len(s[0]))], 0, 1)
                continue
            (i0, i1, ay), (j0, j1, ax) = self.rows, self.cols
            w = self.low[1]
            r0, r1, c0, c1, f = i0[ys] * w, i1[ys] * w, j0[xs], j1[xs], self.flat
            bx, by, k = ax[xs], ay[ys], lab - 1  # sigmoid: only the pixel's own class
            v = (f[k, r0 + c0] * (1 - bx) + f[k, r0 + c1] * bx) * (1 - by) \
                + (f[k, r1 + c0] * (1 - bx) + f[k, r1 + c1] * bx) * by
            p = 1.0 / (1.0 + np.exp(-v))
            yield ys, xs, lab, np.clip(p if self.offsets is None else p - self.offsets[lab], 0, 1)

    def label_score(self, labels: np.ndarray) -> np.ndarray:
        """float32 ``[H, W]``: the probability of each pixel's label (0 on background); equals
        :meth:`max_class_score` wherever the label is a class, at the cost of one class per pixel."""
        out = np.zeros(self.size, np.float32)
        for ys, xs, _, value in self._labelled(labels):
            out[ys, xs] = value
        return out

    def mean_scores(self, labels: np.ndarray) -> np.ndarray:
        """``[C]`` mean clipped calibrated probability of each class over the pixels labelled with it (0 if none)."""
        sums = np.zeros(self.num_classes + 1, np.float64)
        counts = np.zeros(self.num_classes + 1, np.int64)
        for _, _, lab, value in self._labelled(labels):
            sums += np.bincount(lab, weights=value, minlength=len(sums))
            counts += np.bincount(lab, minlength=len(sums))
        return (sums / np.maximum(counts, 1))[1:].astype(np.float32)
