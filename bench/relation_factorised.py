"""RN relation module: the factorised first layer vs the textbook concatenation, side by side in one run.

* factorised: ``RelationNet.score`` on cached features (image part of the first layer once per image, word
  part once per class, only small layers per (image, class) pair);
* naive: ``RelationNet.naive_score`` (tile the word vector, concatenate it with the image features, convolve,
  per pair); it includes its own encoder pass, so it is compared with encode + factorised, and its score part
  (naive minus encode) with the factorised score;
* per-class pipeline: one encoder pass per class ("C binary pipelines" without the encode / score split).

The outputs are checked equal (to 1e-4) before timing. Timings are medians of interleaved repeats (the three
variants alternate, so load from other processes hits them alike), in one process on the current CPU.

Usage:
    python bench/relation_factorised.py [--size 96] [--backbone tiny] [--batch 1] [--repeats 7] [--threads 1]
Prints the table and writes it to bench/results/relation_factorised.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F

from core.models import ModelConfig, build_model

RESULTS = Path(__file__).resolve().parent / "results" / "relation_factorised.md"


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, calling them in turn ``repeats`` times after one warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--classes", default="1,5,20", help="comma-separated class counts")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"table file (default {RESULTS.name})")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: stable timings on a shared machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", args.backbone, 50, image_size=args.size)).eval()
    x = torch.randn(args.batch, 3, args.size, args.size)
    rows = [
        f"<!-- written by: python bench/relation_factorised.py --size {args.size} --backbone {args.backbone} "
        f"--batch {args.batch} --repeats {args.repeats} --threads {torch.get_num_threads()} -->",
        "| classes C | encode (ms) | factorised score (ms) | naive concat, incl. encode (ms) | "
        "naive / (encode + factorised) | naive score / factorised score | C encoder passes + scores (ms) | "
        "per-class pipeline / (encode + factorised) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with torch.inference_mode():
        feats = model.encode(x)
        for c in (int(v) for v in args.classes.split(",")):
            e = F.normalize(torch.randn(c, 50), dim=1)
            diff = (model.score(feats, e) - model.naive_score(x, e)).abs().max().item()
            if diff > 1e-4:
                raise SystemExit(f"factorised and naive scores differ by {diff:.2e} for C={c}")
            t = interleaved({
                "encode": lambda: model.encode(x),
                "factorised": lambda e=e: model.score(feats, e),
                "naive": lambda e=e: model.naive_score(x, e),
                "per_class": lambda e=e, c=c: [model.score(model.encode(x), e[i : i + 1]) for i in range(c)],
            }, args.repeats)
            split = t["encode"] + t["factorised"]
            naive_score = max(t["naive"] - t["encode"], 1e-9)
            rows.append(
                f"| {c} | {t['encode'] * 1e3:.1f} | {t['factorised'] * 1e3:.2f} | {t['naive'] * 1e3:.1f} | "
                f"{t['naive'] / split:.1f}x | {naive_score / t['factorised']:.1f}x | "
                f"{t['per_class'] * 1e3:.1f} | {t['per_class'] / split:.1f}x |"
            )
            print(rows[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
