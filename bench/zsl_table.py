"""The project's zero-shot table on the shapes benchmark, like the papers' tables, from the CLI only.

Trains every method with ``--preset fast`` and fixed seeds on a ``make-shapes`` dataset, evaluates ZLSS and GZLSS on
its test split and writes ``bench/results/zsl_table.md``:

| method | GZLSS seen mIoU | GZLSS unseen mIoU | GZLSS hIoU | ZLSS unseen mIoU | train s |

Rows: RN (GloVe), RN (MiniLM), RN (attributes: colour + shape one-hot), RN without semantics (random class
vectors), U-Net, SPNet, SPNet-C (calibrated), DeViSE, ZS3Net, ZS5Net (self-training on 310 other generated
images, labels never read), and supervised oracles (RN and SPNet trained with every class, on a set generated
with no unseen class).

Usage:
    python bench/zsl_table.py [--work DIR] [--rows rn-glove,spnet,...] [--steps N] [--size 96]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "zsl_table.md"
CALIBRATION = 0.2

#: row -> (train arguments, eval calibration, notes)
ROWS: dict[str, tuple[list[str], float]] = {
    "rn-glove": (["--method", "rn", "--embedding", "glove50"], 0.0),
    "rn-minilm": (["--method", "rn", "--embedding", "minilm"], 0.0),
    "rn-attributes": (["--method", "rn", "--embedding", "attributes:{attributes}"], 0.0),
    "rn-random": (["--method", "rn", "--embedding", "attributes:{random}"], 0.0),
    "unet": (["--method", "unet"], 0.0),
    "spnet": (["--method", "spnet"], 0.0),
    "spnet-c": (["--method", "spnet"], CALIBRATION),
    "devise": (["--method", "devise"], 0.0),
    "zs3net": (["--method", "zs3net"], 0.0),
    "zs5net": (["--method", "zs3net"], 0.0),
    "oracle": (["--method", "rn", "--embedding", "glove50", "--unseen", ""], 0.0),
    "oracle-spnet": (["--method", "spnet", "--unseen", ""], 0.0),
}


def zerolabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "training", *args], check=True)


def write_class_tables(data: Path, work: Path) -> dict[str, Path]:
    """Attribute CSVs for the shapes classes: one-hot colour + shape, and random vectors (no semantics)."""
    names = [line.split(":")[0] for line in (data / "labelmap.txt").read_text().splitlines()
             if line and not line.startswith("#")][1:]
    colours = sorted({n.split()[0] for n in names})
    shapes = sorted({n.split()[1] for n in names})
    rng = np.random.default_rng(0)
    paths = {"attributes": work / "attributes.csv", "random": work / "random.csv"}
    with open(paths["attributes"], "w") as fh:
        for n in names:
            c, s = n.split()
            row = [float(c == x) for x in colours] + [float(s == x) for x in shapes]
            fh.write(",".join([n, *map(str, row)]) + "\n")
    with open(paths["random"], "w") as fh:
        for n in names:
            fh.write(",".join([n, *map(str, rng.standard_normal(16).round(4))]) + "\n")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/zerolabel-zsl"))
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--steps", type=int, help="override the fast preset's steps")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--train", type=int, default=1500)
    args = parser.parse_args(argv)

    work = args.work
    data, oracle_data = work / "shapes", work / "shapes-all-seen"
    common = ["--size", str(args.size), "--train", str(args.train), "--val", "300", "--test", "300", "--seed", "0"]
    if not (data / "labelmap.txt").exists():
        zerolabel("data", "make-shapes", str(data), *common)
    tables = write_class_tables(data, work)
    extra = ["--steps", str(args.steps)] if args.steps else []
    results: dict[str, dict] = {}
    for row in args.rows.split(","):
        train_args, gamma = ROWS[row]
        train_args = [a.format(**tables) for a in train_args]
        run = work / "runs" / {"spnet-c": "spnet", "zs5net": "zs3net"}.get(row, row)
        dataset = data
        started = time.perf_counter()
        if row.startswith("oracle"):
            if not (oracle_data / "labelmap.txt").exists():
                zerolabel("data", "make-shapes", str(oracle_data), *common, "--unseen-count", "0")
            dataset = oracle_data
        if not (run / "best.pt").exists():
            zerolabel("train", *train_args, "--data", str(dataset), "--out", str(run), "--preset", "fast",
                      "--image-size", str(args.size), *extra)
            (run / "train_seconds.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
        if row == "zs5net" and not (run.parent / "zs5net-st" / "best.pt").exists():
            unlabeled = work / "shapes-unlabeled"  # other images (seed 1), labels never read: not the test set
            if not (unlabeled / "labelmap.txt").exists():
                zerolabel("data", "make-shapes", str(unlabeled), "--size", str(args.size), "--train", "10",
                          "--val", "0", "--test", "300", "--seed", "1")
            zerolabel("selftrain", str(run), "--unlabeled", str(unlabeled / "JPEGImages"), "--top-p", "25",
                      "--rounds", "1", "--out", str(run.parent / "zs5net-st"))
        seconds = time.perf_counter() - started
        if (run / "train_seconds.txt").exists() and row != "zs5net":  # a cached run keeps its training time
            seconds = float((run / "train_seconds.txt").read_text())
        ckpt = run.parent / "zs5net-st" if row == "zs5net" else run
        metrics = {}
        for setting in ("gzlss", "zlss"):
            out = work / "metrics" / f"{row}_{setting}.json"
            zerolabel("eval", str(ckpt), "--data", str(data), "--setting", setting,
                      "--calibration", str(gamma), "--json", str(out))
            metrics[setting] = json.loads(out.read_text())
        results[row] = {"metrics": metrics, "seconds": seconds}
        write_table(results, args)
    return 0


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def write_table(results: dict, args: argparse.Namespace) -> None:
    lines = [
        f"<!-- written by: python bench/zsl_table.py --size {args.size} --train {args.train}"
        f"{f' --steps {args.steps}' if args.steps else ''} -->",
        "| method | GZLSS seen mIoU | GZLSS unseen mIoU | GZLSS hIoU | ZLSS unseen mIoU | train s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row, r in results.items():
        g, z = r["metrics"]["gzlss"], r["metrics"]["zlss"]
        lines.append(f"| {row} | {_pct(g['seen']['mIoU'])} | {_pct(g['unseen']['mIoU'])} | {_pct(g['hIoU'])} | "
                     f"{_pct(z['unseen']['mIoU'])} | {r['seconds']:.0f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
