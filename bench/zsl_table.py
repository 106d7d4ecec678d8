"""The project's zero-shot table on the shapes benchmark, like the papers' tables, from the CLI only.

Trains every method with ``--preset fast`` (ImageNet EfficientNet-Lite0 backbone, 800 steps) on a ``make-shapes``
dataset, evaluates ZLSS and GZLSS on its test split and writes ``bench/results/zsl_table.md``:

| method | GZLSS seen mIoU | GZLSS unseen mIoU | GZLSS hIoU | ZLSS unseen mIoU | foreground IoU | gamma | train s |

The foreground IoU (GZLSS, class identity ignored: any class against background) is what the class-agnostic
U-Net baseline can be measured on; its per-class mIoU is meaningless by construction (every class gets the same
score).
Rows: RN (GloVe), RN-C (GloVe, calibrated), RN (MiniLM), RN (attributes: colour + shape one-hot), RN without
semantics (random class vectors), U-Net (class-agnostic), SPNet, SPNet-C (calibrated), DeViSE, ZS3Net, ZS5Net
(ZS3Net self-trained on 310 other generated images, labels never read), and supervised oracles (RN and SPNet
trained with every class, on a set generated with no unseen class).

Calibration (the ``-c`` rows) is chosen without the unseen classes: a second run of the method is trained with
four more *seen* classes held out as pseudo-unseen, the gamma that maximises its GZLSS hIoU on the seen-only
validation split (where those four appear) is kept, and the main run is evaluated on the test split with it.

``--seeds 0,1`` trains the rows named by ``--seeded-rows`` again with training seed 1 (the dataset stays the
same); the table then shows "seed 0 / seed 1" for them, and the spread tells which differences are noise.
Runs are cached in ``WORK/runs`` (with their message streams, ``RUN.jsonl``): a second call with the same work
folder only evaluates, so the rows can be trained by two processes at once (``--rows`` of each) and written
together by a last call with every row.

Usage:
    python bench/zsl_table.py [--work DIR] [--rows rn-glove,spnet,...] [--seeds 0,1] [--steps N]
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
GAMMAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
#: Written into a run folder when its training completed (its content: the training seconds).
DONE = "train_seconds.txt"
#: Seen classes held out as pseudo-unseen by the calibration runs (chosen here, never from the unseen ones).
PSEUDO_UNSEEN = 4

#: row -> (train arguments, run folder it shares, calibrated)
ROWS: dict[str, tuple[list[str], str, bool]] = {
    "rn-glove": (["--method", "rn", "--embedding", "glove50"], "rn-glove", False),
    "rn-glove-c": (["--method", "rn", "--embedding", "glove50"], "rn-glove", True),
    "rn-minilm": (["--method", "rn", "--embedding", "minilm"], "rn-minilm", False),
    "rn-attributes": (["--method", "rn", "--embedding", "attributes:{attributes}"], "rn-attributes", False),
    "rn-random": (["--method", "rn", "--embedding", "attributes:{random}"], "rn-random", False),
    "unet": (["--method", "unet"], "unet", False),
    "spnet": (["--method", "spnet"], "spnet", False),
    "spnet-c": (["--method", "spnet"], "spnet", True),
    "devise": (["--method", "devise"], "devise", False),
    "zs3net": (["--method", "zs3net"], "zs3net", False),
    "zs5net": (["--method", "zs3net"], "zs3net", False),
    "oracle": (["--method", "rn", "--embedding", "glove50", "--unseen", ""], "oracle", False),
    "oracle-spnet": (["--method", "spnet", "--unseen", ""], "oracle-spnet", False),
}
SEEDED = "rn-glove,spnet"


def zerolabel(*args: str, log: Path | None = None) -> None:
    """Run the CLI; ``log``: keep its ``--messages jsonl`` stream (loss and validation curves) there."""
    command = [sys.executable, "-m", "training", *args]
    if log is None:
        subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
        return
    with open(log, "w", encoding="utf-8") as fh:
        subprocess.run([*command, "--messages", "jsonl"], check=True, stdout=fh, stderr=subprocess.DEVNULL)


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


def classes(data: Path) -> tuple[list[str], list[str]]:
    names = [line.split(":")[0] for line in (data / "labelmap.txt").read_text().splitlines()
             if line and not line.startswith("#")][1:]
    unseen = [n.strip() for n in (data / "unseen.txt").read_text().splitlines() if n.strip()]
    return names, unseen


def choose_gamma(row: str, train_args: list[str], data: Path, work: Path, seed: int, extra: list[str]) -> float:
    """Gamma for ``row`` from a run with PSEUDO_UNSEEN more seen classes held out, on seen validation only."""
    names, unseen = classes(data)
    seen = [n for n in names if n not in unseen]
    pseudo = [seen[i] for i in np.random.default_rng(0).choice(len(seen), PSEUDO_UNSEEN, replace=False)]
    run = work / "runs" / f"calib-{ROWS[row][1]}-s{seed}"
    if not (run / DONE).exists():
        run.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        zerolabel("train", *train_args, "--data", str(data), "--out", str(run), "--preset", "fast",
                  "--unseen", ",".join(unseen + pseudo), "--seed", str(seed), *extra,
                  log=run.parent / f"{run.name}.jsonl")
        (run / DONE).write_text(f"{time.perf_counter() - started:.1f}\n")
    scores = {}
    for gamma in GAMMAS:
        out = work / "metrics" / f"calib-{ROWS[row][1]}-s{seed}-{gamma}.json"
        if not out.exists():
            zerolabel("eval", str(run), "--data", str(data), "--split", "val", "--setting", "gzlss",
                      "--unseen", ",".join(unseen + pseudo), "--calibration", str(gamma), "--json", str(out))
        scores[gamma] = json.loads(out.read_text())["hIoU"] or 0.0
    return max(scores, key=lambda g: (scores[g], -g))


def run_row(row: str, seed: int, data: Path, oracle_data: Path, work: Path, tables: dict, extra: list[str],
            common: list[str]) -> dict:
    train_args, shared, calibrated = ROWS[row]
    train_args = [a.format(**tables) for a in train_args]
    run = work / "runs" / f"{shared}-s{seed}"
    dataset = data
    if row.startswith("oracle"):
        if not (oracle_data / "labelmap.txt").exists():
            zerolabel("data", "make-shapes", str(oracle_data), *common, "--unseen-count", "0")
        dataset = oracle_data
    if not (run / DONE).exists():  # a run stopped half-way is trained again
        started = time.perf_counter()
        run.parent.mkdir(parents=True, exist_ok=True)
        zerolabel("train", *train_args, "--data", str(dataset), "--out", str(run), "--preset", "fast",
                  "--seed", str(seed), *extra, log=run.parent / f"{run.name}.jsonl")
        (run / DONE).write_text(f"{time.perf_counter() - started:.1f}\n")
    seconds = float((run / DONE).read_text())
    ckpt = run
    if row == "zs5net":
        ckpt = run.parent / f"zs5net-s{seed}"
        if not (ckpt / DONE).exists():
            unlabeled = work / "shapes-unlabeled"  # other images (seed 1), labels never read: not the test set
            if not (unlabeled / "labelmap.txt").exists():
                zerolabel("data", "make-shapes", str(unlabeled), "--train", "10", "--val", "0", "--test", "300",
                          "--seed", "1")
            started = time.perf_counter()
            zerolabel("selftrain", str(run), "--unlabeled", str(unlabeled / "JPEGImages"), "--top-p", "25",
                      "--rounds", "2", "--steps", "150", "--out", str(ckpt))
            (ckpt / DONE).write_text(f"{time.perf_counter() - started:.1f}\n")
        seconds += float((ckpt / DONE).read_text())
    gamma = choose_gamma(row, train_args, data, work, seed, extra) if calibrated else 0.0
    metrics = {}
    for setting in ("gzlss", "zlss"):
        out = work / "metrics" / f"{row}-s{seed}_{setting}.json"
        if not out.exists():
            zerolabel("eval", str(ckpt), "--data", str(data), "--setting", setting, "--calibration", str(gamma),
                      "--json", str(out))
        metrics[setting] = json.loads(out.read_text())
    return {"metrics": metrics, "seconds": seconds, "gamma": gamma}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/zerolabel-zsl"))
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seeds", default="0,1", help="training seeds; seeds after the first: --seeded-rows only")
    parser.add_argument("--seeded-rows", default=SEEDED)
    parser.add_argument("--steps", type=int, help="override the fast preset's steps")
    args = parser.parse_args(argv)

    work = args.work
    data, oracle_data = work / "shapes", work / "shapes-all-seen"
    common = ["--val", "300", "--test", "300", "--seed", "0"]  # make-shapes defaults: 96 px, 1,500 training
    if not (data / "labelmap.txt").exists():
        zerolabel("data", "make-shapes", str(data), *common)
    tables = write_class_tables(data, work)
    extra = ["--steps", str(args.steps)] if args.steps else []
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, dict[int, dict]] = {}
    jobs = [(row, seeds[0]) for row in args.rows.split(",")]
    jobs += [(row, s) for s in seeds[1:] for row in args.seeded_rows.split(",") if row in args.rows.split(",")]
    for row, seed in jobs:
        results.setdefault(row, {})[seed] = run_row(row, seed, data, oracle_data, work, tables, extra, common)
        write_table(results, args)
    return 0


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def _cell(values: list[float | None]) -> str:
    return " / ".join(_pct(v) for v in values)


def write_table(results: dict, args: argparse.Namespace) -> None:
    lines = [
        f"<!-- written by: python bench/zsl_table.py --seeds {args.seeds}"
        f"{f' --steps {args.steps}' if args.steps else ''} (2 CPU cores; values: seed 0 / seed 1) -->",
        "| method | GZLSS seen mIoU | GZLSS unseen mIoU | GZLSS hIoU | ZLSS unseen mIoU | foreground IoU | gamma | "
        "train s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row, by_seed in results.items():
        runs = [by_seed[s] for s in sorted(by_seed)]
        g = [r["metrics"]["gzlss"] for r in runs]
        z = [r["metrics"]["zlss"] for r in runs]
        gammas = " / ".join(f"{r['gamma']:.1f}" for r in runs)
        seconds = " / ".join(f"{r['seconds']:.0f}" for r in runs)
        lines.append(f"| {row} | {_cell([m['seen']['mIoU'] for m in g])} | {_cell([m['unseen']['mIoU'] for m in g])} "
                     f"| {_cell([m['hIoU'] for m in g])} | {_cell([m['unseen']['mIoU'] for m in z])} | "
                     f"{_cell([m.get('foreground_IoU') for m in g])} | {gammas} | "
                     f"{seconds} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
