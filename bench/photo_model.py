"""Photo model latency on ONNX Runtime: the full pass (encode + score) against a class edit (score one new name on
the cached features), at 1920x1080 and 4000x3000, interleaved, medians; the GrabCut refinement of one class
(:mod:`core.photo.grabcut`, applied by runtimes that honour the manifest's ``refine``); the model folder's size.

    python bench/photo_model.py [--repeats 5] [--threads 2] [--out bench/results/photo_model.md]

The photos are the shipped sample ``china.jpg`` resized to each size (the encoder's cost depends on the working
size, 448 px on the short side, not on the file).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2

from core.inference.runtime import Predictor
from core.io.atomic import atomic_write_text
from core.io.image import read_image
from core.photo import FEATURES, photo_model_folder, sample_photos_folder
from core.photo.grabcut import grabcut_logits

NAMES = ["cat", "cup", "motorcycle", "building", "flower"]
EDITS = ["dog", "boat", "car", "bird", "bottle", "chair", "bus", "train", "horse", "bicycle", "laptop", "bench"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/photo_model.md"))
    args = parser.parse_args()
    folder = photo_model_folder()
    photo = read_image(sample_photos_folder() / "china.jpg")
    rows = []
    for width, height in ((1920, 1080), (4000, 3000)):
        image = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
        predictor = Predictor(folder, device="cpu", threads=args.threads)
        predictor.predict(image, NAMES)  # warm-up: sessions, text encoder, caches
        full, edit, encode, grabcut = [], [], [], []
        for r in range(args.repeats):
            predictor = Predictor(folder, device="cpu", threads=args.threads, text_encoder=predictor.text)
            start = time.perf_counter()
            predictor.model.encode(image)
            encode.append(time.perf_counter() - start)
            start = time.perf_counter()
            predictor.predict(image, NAMES, key="bench")
            full.append(time.perf_counter() - start)
            name = EDITS[r % len(EDITS)]
            predictor.text.embed([name])  # the text side is cached per name in the app as well
            start = time.perf_counter()
            predictor.predict(image, [*NAMES, name], key="bench")
            edit.append(time.perf_counter() - start)
            features = predictor.features(image, "bench")
            logits, _ = predictor.model.logits(features, ["building"], predictor.text.embed(["building"]))  # in view
            start = time.perf_counter()
            grabcut_logits(features[FEATURES.index("guide")][0, :3], logits)
            grabcut.append(time.perf_counter() - start)
        f, e, n, g = (statistics.median(v) for v in (full, edit, encode, grabcut))
        rows.append(f"| {width}x{height} | {n:.2f} | {f:.2f} | {e:.3f} | {f / e:.1f}x | {g:.3f} |")
        print(rows[-1], flush=True)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 2**20
    table = "\n".join([
        "# Photo model latency (ONNX Runtime, CPU)",
        "",
        f"`python bench/photo_model.py --repeats {args.repeats} --threads {args.threads}`; medians of "
        f"{args.repeats} interleaved runs; model folder {size:.1f} MiB.",
        "",
        "| photo | encoder (s) | full pass: encode + 5 names (s) | class edit: +1 name (s) | full / edit "
        "| GrabCut, 1 class (s) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    atomic_write_text(args.out, table)
    print(table)


if __name__ == "__main__":
    main()
