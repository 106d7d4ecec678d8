"""Pre-labelling throughput: the local engine with 1 and 2 workers and the Ray engine with 1 and 2 actors, beside
the model-only ceiling, on this machine (rounds interleaved, medians).

* model only: encoder + scorer on images already decoded (one ONNX Runtime session, every core): the ceiling;
* bare loop: decode + encoder + scorer, nothing written;
* ``zerolabel predict`` (heatmaps off, VOC layout): local engine ``--workers 1|2`` (ONNX Runtime on every core),
  Ray engine ``--workers 1|2`` actors of ``--threads 1`` each on a local Ray instance started once.

Usage:
    python bench/scale.py [--images 32] [--rounds 2] [--model FOLDER] [--size 1024x768]
Writes bench/results/scale.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "scale.md"
CLASSES = "red circle,blue square,green triangle,yellow star,purple circle"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", default="1024x768")
    parser.add_argument("--model", default=None, help="ONNX model folder (default: the demo model)")
    args = parser.parse_args(argv)

    import ray

    from cli.main import main as cli_main
    from core.inference.runtime import Predictor, demo_model_folder, sample_images_folder
    from core.io.image import read_image

    folder = Path(args.model) if args.model else demo_model_folder()
    work = Path(tempfile.mkdtemp(prefix="zerolabel-bench-scale-"))
    w, h = (int(v) for v in args.size.split("x"))
    base = cv2.resize(read_image(sorted((sample_images_folder() / "JPEGImages").iterdir())[0]), (w, h))
    images = work / "images"
    images.mkdir()
    for i in range(args.images):
        cv2.imwrite(str(images / f"im{i:04d}.jpg"), np.roll(base, 37 * i, axis=1)[..., ::-1])
    files = sorted(images.iterdir())
    decoded = [read_image(f) for f in files]
    predictor = Predictor(folder, device="cpu", cache_size=1)
    names = CLASSES.split(",")
    matrix = predictor.text.embed(names)

    def model_only():
        for image in decoded:
            predictor.model.logits(predictor.model.encode(image), names, matrix)

    def bare():
        for f in files:
            predictor.model.logits(predictor.model.encode(read_image(f)), names, matrix)

    count = iter(range(10**6))

    def predict(*extra: str):
        def run():
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                code = cli_main(["predict", str(folder), str(images), "--classes", CLASSES, "--out",
                                 str(work / f"out{next(count)}"), "--device", "cpu", *extra])
            assert code == 0, code
        return run

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    variants = {
        "model only (ceiling)": model_only,
        "bare loop (decode + model)": bare,
        "local, 1 worker": predict("--workers", "1"),
        "local, 2 workers": predict("--workers", "2"),
        "ray, 1 actor": predict("--engine", "ray", "--workers", "1", "--threads", "1"),
        "ray, 2 actors": predict("--engine", "ray", "--workers", "2", "--threads", "1"),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    keys = list(variants)
    for r in range(args.rounds + 1):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            t = time.perf_counter()
            variants[k]()
            if r:
                times[k].append(time.perf_counter() - t)
            print(k, f"{time.perf_counter() - t:.2f}s", flush=True)
    ray.shutdown()
    med = {k: statistics.median(v) for k, v in times.items()}
    ceiling = args.images / med["model only (ceiling)"]
    cmd = " ".join(["python bench/scale.py", *(argv if argv is not None else sys.argv[1:])])
    out = [f"<!-- written by: {cmd} ({os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}) -->", "",
           f"**Pre-labelling throughput** ({args.images} JPEG {args.size}, 5 classes, model {folder.name}, heatmaps "
           f"off; medians of {args.rounds} interleaved rounds)", "",
           "| variant | images/s | fraction of the model-only ceiling |", "|---|---:|---:|"]
    for k in keys:
        rate = args.images / med[k]
        out.append(f"| {k} | {rate:.1f} | {rate / ceiling:.2f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(out) + "\n", encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
