"""Clicks to IoU 0.9: click-to-refine (GrabCut along image edges) against brush dabs, on real photos with masks.

Objects: every class of every image in ``resources/photo_eval`` covering at least 1 % of its image. A simulated
labeler starts from an empty mask and clicks at the centre of the largest error region (the pixel farthest from its
border): a missed region gets an "add" click, a spurious one a "remove" click. Brush only: each click paints (or
erases) the largest disk that fits in that error region at that point (a labeler choosing the perfect brush size
every time; a generous baseline). Refine: each click is :func:`core.annotation.refine.refine_click`. At most
``--max-clicks`` clicks; an object not reaching the target counts as the cap (reported separately).

Usage: ``python bench/clicks.py [--target 0.9] [--max-clicks 20]``; writes ``bench/results/clicks.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.annotation.refine import refine_click  # noqa: E402
from core.io.image import read_image, read_label_png  # noqa: E402

DATA = ROOT / "resources" / "photo_eval"
RESULTS = Path(__file__).resolve().parent / "results"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def next_click(mask: np.ndarray, truth: np.ndarray) -> tuple[int, int, bool, float]:
    """x, y, add, radius: the centre of the largest error region (missed or spurious) and its inscribed radius."""
    best = None
    for add, error in ((True, truth & ~mask), (False, mask & ~truth)):
        if not error.any():
            continue
        padded = np.pad(error.astype(np.uint8), 1)  # the image border is a border of the region too
        dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
        y, x = np.unravel_index(int(dist.argmax()), dist.shape)
        if best is None or dist[y, x] > best[3]:
            best = (int(x), int(y), add, float(dist[y, x]))
    return best


def brush(mask: np.ndarray, x: int, y: int, add: bool, radius: float) -> np.ndarray:
    disk = np.zeros(mask.shape, np.uint8)
    cv2.circle(disk, (x, y), max(1, int(radius)), 1, -1)
    return mask | (disk > 0) if add else mask & ~(disk > 0)


def clicks_to(rgb: np.ndarray, truth: np.ndarray, method: str, target: float, cap: int) -> tuple[int, float]:
    mask = np.zeros(truth.shape, bool)
    seeds: list[tuple[int, int, bool]] = []  # the app keeps the clicks on the selected class the same way
    for n in range(1, cap + 1):
        x, y, add, radius = next_click(mask, truth)
        if method == "refine":
            mask = refine_click(rgb, mask, x, y, add, seeds=seeds)
            seeds.append((x, y, add))
        else:
            mask = brush(mask, x, y, add, radius)
        if iou(mask, truth) >= target:
            return n, iou(mask, truth)
    return cap, iou(mask, truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--max-clicks", type=int, default=20)
    args = parser.parse_args()
    names = [line.split(":")[0] for line in (DATA / "labelmap.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    rows, seconds = [], []
    for path in sorted((DATA / "JPEGImages").iterdir()):
        rgb = read_image(path)
        labels = read_label_png(DATA / "SegmentationClass" / f"{path.stem}.png")
        for value in np.unique(labels):
            truth = labels == value
            if value in (0, 255) or truth.mean() < 0.01:
                continue
            t = time.perf_counter()
            refine = clicks_to(rgb, truth, "refine", args.target, args.max_clicks)
            seconds.append((time.perf_counter() - t) / refine[0])
            plain = clicks_to(rgb, truth, "brush", args.target, args.max_clicks)
            rows.append((path.stem, names[value], truth.shape, refine, plain))
            print(rows[-1], flush=True)
    cap = args.max_clicks
    lines = [f"# Clicks to IoU {args.target} (simulated labeler, photos of resources/photo_eval)", "",
             "Command: `python bench/clicks.py` (the labeler clicks the centre of the largest error region; brush "
             "only = the largest disk fitting that region, a perfect brush size every time).", "",
             "| image | class | size | refine clicks | refine IoU | brush clicks | brush IoU |",
             "|---|---|---|---|---|---|---|"]
    for stem, name, shape, (rn, ri), (bn, bi) in rows:
        mark = lambda n, i: f"{n}" if i >= args.target else f"> {cap}"  # noqa: E731
        lines.append(f"| {stem} | {name} | {shape[1]}x{shape[0]} | {mark(rn, ri)} | {ri:.3f} | {mark(bn, bi)} | "
                     f"{bi:.3f} |")
    r = np.array([row[3][0] for row in rows])
    b = np.array([row[4][0] for row in rows])
    reached_r = sum(row[3][1] >= args.target for row in rows)
    reached_b = sum(row[4][1] >= args.target for row in rows)
    lines += ["", f"| summary ({len(rows)} objects, a miss counts {cap}) | refine | brush only |", "|---|---|---|",
              f"| mean clicks | {r.mean():.1f} | {b.mean():.1f} |",
              f"| median clicks | {np.median(r):.0f} | {np.median(b):.0f} |",
              f"| objects reaching {args.target} within {cap} | {reached_r} | {reached_b} |",
              f"| refine seconds per click (median, this machine) | {np.median(seconds):.2f} | – |", ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "clicks.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
