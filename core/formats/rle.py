"""COCO run-length encoding of binary masks, both forms pycocotools reads.

* uncompressed: ``{"size": [h, w], "counts": [n0, n1, ...]}``, run lengths over the column-major (Fortran order)
  pixels, starting with a run of zeros (0 when the first pixel is set);
* compressed: the same runs as a string (pycocotools' ``rleToString``: each run minus the run two before it, in
  signed 5-bit groups offset by 48), as COCO and COCO-Stuff ship them.

Example:
    >>> m = np.array([[0, 1], [1, 1]], bool)
    >>> rle_encode(m)
    {'size': [2, 2], 'counts': [1, 3]}
    >>> bool((rle_decode(rle_encode(m, compressed=True)) == m).all())
    True
"""

from __future__ import annotations

import numpy as np

from core.errors import DatasetError


def runs(mask: np.ndarray) -> list[int]:
    """Column-major run lengths of a 2-D boolean mask, starting with a (maybe empty) run of zeros."""
    flat = np.asarray(mask, bool).reshape(-1, order="F")
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    return [0, *counts] if flat[0] else counts


def region_runs(crop: np.ndarray, top: int, left: int, height: int, width: int) -> list[int]:
    """:func:`runs` of a ``height`` x ``width`` mask that is empty outside ``crop`` placed at (``top``, ``left``),
    in time and memory of the crop's columns only (for one small region of a large image)."""
    h, w = crop.shape
    cols = np.zeros((height, w), bool)
    cols[top:top + h] = crop
    counts = runs(cols) or [0]
    counts[0] += left * height
    trail = (width - left - w) * height
    if len(counts) % 2:  # ends with a run of zeros
        counts[-1] += trail
    elif trail:
        counts.append(trail)
    return counts


def counts_to_string(counts: list[int]) -> str:
    """pycocotools' compressed form of run lengths."""
    out = []
    for i, count in enumerate(counts):
        x = int(count) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def string_to_counts(text: str) -> list[int]:
    """Inverse of :func:`counts_to_string`."""
    counts: list[int] = []
    p = 0
    data = text.encode("ascii")
    while p < len(data):
        x = k = 0
        more = True
        while more:
            if p >= len(data):
                raise ValueError("the compressed counts end in the middle of a number")
            c = data[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_encode(mask: np.ndarray, compressed: bool = False) -> dict:
    """COCO RLE of a boolean ``[h, w]`` mask (``compressed``: counts as pycocotools' string)."""
    counts = runs(mask)
    size = [int(mask.shape[0]), int(mask.shape[1])]
    return {"size": size, "counts": counts_to_string(counts) if compressed else counts}


def rle_counts(rle: dict, source: str = "RLE") -> tuple[int, int, np.ndarray]:
    """``(h, w, run lengths)`` of a COCO RLE (either form), checked; errors name ``source``."""
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
        if isinstance(counts, (str, bytes)):
            counts = string_to_counts(counts.decode("ascii") if isinstance(counts, bytes) else counts)
        counts = np.asarray(counts, dtype=np.int64)
    except (KeyError, TypeError, ValueError, UnicodeError) as exc:
        raise DatasetError(f"{source}: not a COCO RLE {{'size': [h, w], 'counts': ...}} ({exc})") from None
    if h < 0 or w < 0 or counts.ndim != 1 or (counts < 0).any() or int(counts.sum()) != h * w:
        raise DatasetError(f"{source}: the RLE run lengths add up to {int(counts.sum())} pixels, not {h}x{w}; "
                           "the mask is corrupt")
    return h, w, counts


def rle_decode(rle: dict, source: str = "RLE") -> np.ndarray:
    """The boolean ``[h, w]`` mask of a COCO RLE (either form); errors name ``source``."""
    h, w, counts = rle_counts(rle, source)
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    return np.repeat(values, counts).reshape((h, w), order="F")


def rle_paint(flat: np.ndarray, counts: np.ndarray, value: int) -> None:
    """Set the pixels of an RLE to ``value`` in ``flat``, a label map raveled in column-major order."""
    ends = np.cumsum(counts)
    starts = ends - counts
    for start, end in zip(starts[1::2].tolist(), ends[1::2].tolist(), strict=True):
        flat[start:end] = value
