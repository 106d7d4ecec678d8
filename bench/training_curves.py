"""Why a method trains or does not: training-loss and seen-validation curves, one change at a time.

Each row is one training run of the CLI (``zerolabel train ... --messages jsonl``) on a ``make-shapes`` dataset;
the rows of a ladder differ from the row above by one change. For each run the script keeps the message stream
(``RUN/messages.jsonl``), reads the loss curve and the seen-class validation mIoU the trainer computes (the only
thing model selection sees), then evaluates GZLSS on the test split. It writes

* ``bench/results/training_curves.md``: per row the change, the final seen validation mIoU, the GZLSS seen /
  unseen / hIoU on the test split and the training seconds, and what the change bought (hIoU difference to the
  row above);
* ``bench/results/training_curves.png``: loss and validation curves of every row.

Usage:
    python bench/training_curves.py [--work DIR] [--rows rn-tiny,rn-effnet-old,...] [--data DIR]
    python bench/training_curves.py --from-logs NAME=RUN.jsonl,NAME=RUN.jsonl   # plot runs made elsewhere
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

#: row -> (what changed, train arguments). Each ladder row adds one change to the row before it.
OLD_RN_HEAD = ["--option", "image_norm=false", "--option", "word_act=relu", "--option", "joint=sigmoid"]
EFFNET = ["--backbone", "effnet-lite0", "--pretrained"]
ROWS: dict[str, tuple[str, list[str]]] = {
    "rn-tiny": ("RN, earlier fast preset: random-init tiny backbone, 2,000 steps, the paper's sigmoid maps",
                ["--method", "rn", "--backbone", "tiny", "--steps", "2000", *OLD_RN_HEAD]),
    "rn-effnet-old": ("ImageNet EfficientNet-Lite0 backbone, 800 steps",
                      ["--method", "rn", *EFFNET, "--steps", "800", *OLD_RN_HEAD]),
    "rn-effnet-norm": ("+ normalised image terms and class terms (word module: unit-variance input, LayerNorm)",
                       ["--method", "rn", *EFFNET, "--steps", "800", "--option", "joint=sigmoid"]),
    "rn-effnet": ("+ learned background relation, softmax over background + episode classes (this RN)",
                  ["--method", "rn", *EFFNET, "--steps", "800"]),
    "spnet-tiny": ("SPNet, earlier fast preset: random-init tiny backbone, 2,000 steps",
                   ["--method", "spnet", "--backbone", "tiny", "--steps", "2000"]),
    "spnet-effnet": ("ImageNet EfficientNet-Lite0 backbone, 800 steps (this SPNet)",
                     ["--method", "spnet", *EFFNET, "--steps", "800"]),
}


def zerolabel(*args: str, log: Path | None = None) -> None:
    command = [sys.executable, "-m", "training", *args]
    if log is None:
        subprocess.run(command, check=True)
        return
    with open(log, "w", encoding="utf-8") as fh:
        subprocess.run(command, check=True, stdout=fh, stderr=subprocess.DEVNULL)


def read_curves(log: Path) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(step, loss) and (step, seen validation mIoU) from a ``--messages jsonl`` stream."""
    losses, evals = [], []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("type") == "StepDone":
            losses.append((msg["step"], msg["loss"]))
        elif msg.get("type") == "EvalDone":
            evals.append((msg["step"], msg["metrics"]["overall"]["mIoU"] or 0.0))
    return losses, evals


def smooth(values: list[float], window: int = 25) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot(curves: dict[str, tuple[list, list]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(12, 4.5))
    for row, (losses, evals) in curves.items():
        if losses:
            ax_loss.plot([s for s, _ in losses], smooth([v for _, v in losses]), label=row)
        if evals:
            ax_val.plot([s for s, _ in evals], [100 * v for _, v in evals], marker="o", label=row)
    ax_loss.set(title="training loss (moving average of 25 steps)", xlabel="step", yscale="log")
    ax_val.set(title="seen-class validation mIoU (model selection)", xlabel="step", ylabel="mIoU %", ylim=(0, 100))
    for ax in (ax_loss, ax_val):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/zerolabel-curves"))
    parser.add_argument("--data", type=Path, help="a make-shapes dataset (default: WORK/shapes, made here)")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--from-logs", help="NAME=PATH,...: plot these --messages jsonl streams, train nothing")
    parser.add_argument("--out", default="training_curves", help="file name stem under bench/results")
    args = parser.parse_args(argv)
    if args.from_logs:
        curves = {name: read_curves(Path(path)) for name, path in
                  (item.split("=", 1) for item in args.from_logs.split(","))}
        plot(curves, RESULTS / f"{args.out}.png")
        lines = [f"<!-- written by: python bench/training_curves.py --from-logs ... --out {args.out} -->",
                 "| run | seen val mIoU at each evaluation (step: %) |", "|---|---|"]
        lines += [f"| {name} | " + ", ".join(f"{s}: {100 * v:.1f}" for s, v in evals) + " |"
                  for name, (_, evals) in curves.items()]
        (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print("\n".join(lines))
        return 0

    data = args.data or args.work / "shapes"
    if not (data / "labelmap.txt").exists():
        zerolabel("data", "make-shapes", str(data), "--seed", "0")
    results, curves = {}, {}
    for row in args.rows.split(","):
        change, train_args = ROWS[row]
        run = args.work / "runs" / f"{row}-s{args.seed}"
        log = run.parent / f"{run.name}.jsonl"
        if not (run / "best.pt").exists():
            run.parent.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            zerolabel("train", *train_args, "--data", str(data), "--out", str(run), "--seed", str(args.seed),
                      "--eval-every", "200", "--messages", "jsonl", log=log)
            (run / "train_seconds.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
        metrics = args.work / "metrics" / f"{run.name}_gzlss.json"
        if not metrics.exists():
            metrics.parent.mkdir(parents=True, exist_ok=True)
            zerolabel("eval", str(run), "--data", str(data), "--setting", "gzlss", "--json", str(metrics))
        curves[row] = read_curves(log)
        results[row] = {"change": change, "gzlss": json.loads(metrics.read_text()),
                        "seconds": float((run / "train_seconds.txt").read_text())}
        write(results, curves, args)
    return 0


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def write(results: dict, curves: dict, args: argparse.Namespace) -> None:
    lines = [f"<!-- written by: python bench/training_curves.py --rows {','.join(results)} --seed {args.seed} -->",
             "| row | change | seen val mIoU (last eval) | GZLSS seen | GZLSS unseen | GZLSS hIoU | hIoU bought | "
             "train s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    previous: dict[str, float] = {}  # ladder (method prefix) -> hIoU of its last row
    for row, r in results.items():
        g = r["gzlss"]
        evals = curves[row][1]
        hiou, ladder = g["hIoU"] or 0.0, row.split("-")[0]
        bought = f"{100 * (hiou - previous[ladder]):+.1f}" if ladder in previous else ""
        lines.append(f"| {row} | {r['change']} | {_pct(evals[-1][1] if evals else None)} | "
                     f"{_pct(g['seen']['mIoU'])} | {_pct(g['unseen']['mIoU'])} | {_pct(g['hIoU'])} | {bought} | "
                     f"{r['seconds']:.0f} |")
        previous[ladder] = hiou
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot(curves, RESULTS / f"{args.out}.png")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
