"""Corrections feed back: unseen-class IoU before and after fine-tuning on k corrected images (k = 0, 1, 5, 20).

The labeler's loop: a class starts zero-shot; the images the labeler marks done become labeled data; the model is
fine-tuned with those classes as seen (RN episodes now include them). Here the "corrected images" are newly
generated shapes images (another seed, the same unseen classes, at least one unseen object each: make-shapes'
test split of that seed), taken in a fixed order; the evaluation images are never among them. Every row
fine-tunes the same base run (``bench/zsl_table.py``'s rn-glove) with the same steps and learning rate; k = 0 is
the control (the same fine-tuning on seen-only data), so a gain is the corrections' and not the extra steps'.
Evaluation: ``zerolabel eval`` on the untouched test split.

``--method zs3net`` fine-tunes the zs3net run instead (its classifier now has real features of the corrected
classes: a classifier refit with the network), ``--freeze-backbone`` trains only what sits on the backbone
(RN's word and relation modules, ZS3Net's DeepLab head and classifier).

Usage: ``python bench/corrections.py --work /tmp/zsl [--method rn|zs3net] [--freeze-backbone] [--ks 0,1,5,20]
[--steps 300]``; writes ``bench/results/corrections[-zs3net][-frozen].md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BASES = {"rn": "rn-glove", "zs3net": "zs3net"}  # bench/zsl_table.py's run of each method


def zerolabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "training", *args], check=True)


def make_pool(data: Path, pool: Path, size: int = 100) -> list[str]:
    """Images to "correct": new generated images (another seed) with the same unseen classes, each holding at
    least one unseen object (make-shapes' test split). Never the evaluation images."""
    if not (pool / "labelmap.txt").exists():
        unseen = ",".join(n for n in (data / "unseen.txt").read_text().split("\n") if n.strip())
        zerolabel("data", "make-shapes", str(pool), "--unseen", unseen, "--seed", "2", "--train", "2", "--val", "0",
                  "--test", str(size))
    return (pool / "ImageSets" / "Segmentation" / "test.txt").read_text().split()


def make_dataset(data: Path, pool: Path, out: Path, corrected: list[str], share: float) -> None:
    """Our layout by per-file links: the (seen-only) training images plus the corrected pool images, repeated to
    ``share`` of the training list (so one corrected image is not lost among 1,500)."""
    if out.exists():
        shutil.rmtree(out)
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (out / folder).mkdir(parents=True)
    shutil.copy(data / "labelmap.txt", out / "labelmap.txt")
    seen_only = (data / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    for source, ids, prefix in ((data, seen_only, ""), (pool, corrected, "pool_")):
        for image_id in ids:
            image = next((source / "JPEGImages").glob(f"{image_id}.*"))
            (out / "JPEGImages" / f"{prefix}{image.name}").symlink_to(image.resolve())
            label = source / "SegmentationClass" / f"{image_id}.png"
            (out / "SegmentationClass" / f"{prefix}{image_id}.png").symlink_to(label.resolve())
    repeat = max(1, round(share * len(seen_only) / (1 - share) / len(corrected))) if corrected else 0
    train = seen_only + [f"pool_{i}" for i in corrected] * repeat
    (out / "ImageSets" / "Segmentation" / "train.txt").write_text("\n".join(train) + "\n")
    shutil.copy(data / "ImageSets" / "Segmentation" / "val.txt", out / "ImageSets" / "Segmentation" / "val.txt")
    for image_id in (data / "ImageSets" / "Segmentation" / "val.txt").read_text().split():
        image = next((data / "JPEGImages").glob(f"{image_id}.*"))
        (out / "JPEGImages" / image.name).symlink_to(image.resolve())
        (out / "SegmentationClass" / f"{image_id}.png").symlink_to((data / "SegmentationClass" /
                                                                    f"{image_id}.png").resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/zsl"))
    parser.add_argument("--ks", default="0,1,5,20")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--share", type=float, default=0.2, help="share of corrected images in the training list")
    parser.add_argument("--method", choices=sorted(BASES), default="rn")
    parser.add_argument("--freeze-backbone", action="store_true", help="refit only the layers above the backbone")
    args = parser.parse_args(argv)
    data, base = args.work / "shapes", args.work / "runs" / BASES[args.method]
    if not (base / "best.pt").exists():
        raise SystemExit(f"{base}: run `python bench/zsl_table.py --work {args.work} --rows {BASES[args.method]}` "
                         "first")
    variant = f"{'' if args.method == 'rn' else '-' + args.method}{'-frozen' if args.freeze_backbone else ''}"
    args.results = RESULTS / f"corrections{variant}.md"
    pool_dir = args.work / "corrections" / "pool"
    pool = make_pool(data, pool_dir)
    rows = []
    metrics = {}
    for setting in ("gzlss", "zlss"):
        out = args.work / "corrections" / f"base_{setting}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        zerolabel("eval", str(base), "--data", str(data), "--setting", setting, "--json", str(out))
        metrics[setting] = json.loads(out.read_text())
    rows.append(("zero-shot base run (no fine-tuning)", metrics, 0.0))
    for k in [int(v) for v in args.ks.split(",")]:
        ds, run = args.work / "corrections" / f"data-k{k}", args.work / "corrections" / f"run{variant}-k{k}"
        make_dataset(data, pool_dir, ds, pool[:k], args.share)
        if run.exists():
            shutil.rmtree(run)
        start = time.perf_counter()
        zerolabel("train", "--method", args.method, "--data", str(ds), "--unseen", "", "--init", str(base), "--out",
                  str(run), "--preset", "fast", "--steps", str(args.steps), "--lr", str(args.lr), "--image-size",
                  "96", "--eval-every", str(max(1, args.steps // 3)),
                  *(["--freeze-backbone"] if args.freeze_backbone else []))
        seconds = time.perf_counter() - start
        metrics = {}
        for setting in ("gzlss", "zlss"):
            out = args.work / "corrections" / f"k{k}{variant}_{setting}.json"
            zerolabel("eval", str(run), "--data", str(data), "--setting", setting, "--json", str(out))
            metrics[setting] = json.loads(out.read_text())
        rows.append((f"fine-tuned, k = {k} corrected image{'s' if k != 1 else ''}", metrics, seconds))
        write(rows, args)
    return 0


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def write(rows, args) -> None:
    lines = [f"<!-- written by: python bench/corrections.py --method {args.method}"
             f"{' --freeze-backbone' if args.freeze_backbone else ''} --ks {args.ks} --steps {args.steps} "
             f"--lr {args.lr} --share {args.share} -->",
             "| model | GZLSS seen mIoU | GZLSS unseen mIoU | GZLSS hIoU | ZLSS unseen mIoU | fine-tune s |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, m, seconds in rows:
        g, z = m["gzlss"], m["zlss"]
        lines.append(f"| {name} | {_pct(g['seen']['mIoU'])} | {_pct(g['unseen']['mIoU'])} | {_pct(g['hIoU'])} | "
                     f"{_pct(z['unseen']['mIoU'])} | {seconds:.0f} |")
    args.results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
