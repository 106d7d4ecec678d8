"""RN relation module: factorised first layer (conv(features) once per image + a per-class bias) vs the direct
concatenation per (image, class) pair, and vs the papers' per-class pipeline (one full encoder pass per class).

Same weights, same outputs (checked); timings side by side in one run on the current CPU.

Usage:
    python bench/relation_factorised.py [--size 96] [--backbone tiny] [--repeats 5]
Writes bench/results/relation_factorised.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from core.models import ModelConfig, build_model

RESULTS = Path(__file__).resolve().parent / "results" / "relation_factorised.md"


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", args.backbone, 50, image_size=args.size)).eval()
    x = torch.randn(1, 3, args.size, args.size)
    rows = [f"<!-- written by: python bench/relation_factorised.py --size {args.size} --backbone {args.backbone} "
            f"(threads: {torch.get_num_threads()}) -->",
            "| classes C | encode (ms) | factorised score (ms) | naive concat score (ms) | naive / factorised | "
            "C encoder passes + scores (ms) | per-class pipeline / (encode + factorised) |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    with torch.no_grad():
        feats = model.encode(x)
        for c in (1, 5, 20):
            e = F.normalize(torch.randn(c, 50), dim=1)
            assert torch.allclose(model.score(feats, e), model.naive_score(x, e), atol=1e-4)
            enc = timed(lambda: model.encode(x), args.repeats)
            fac = timed(lambda e=e: model.score(feats, e), args.repeats)
            naive = timed(lambda e=e: model.naive_score(x, e), args.repeats)
            def per_class_pipeline(e=e, c=c):
                return [model.score(model.encode(x), e[i : i + 1]) for i in range(c)]

            per_class = timed(per_class_pipeline, args.repeats)
            rows.append(f"| {c} | {enc * 1e3:.1f} | {fac * 1e3:.1f} | {naive * 1e3:.1f} | {naive / fac:.1f}x | "
                        f"{per_class * 1e3:.1f} | {per_class / (enc + fac):.1f}x |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
