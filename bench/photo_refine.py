"""Which edge-aware refinement wins on the real-photo set: none, the guided filter inside the scorer graph (shipped),
or GrabCut on its logits (:mod:`core.photo.grabcut`), under the project and the names-present protocols.

IoU per class is summed over ``resources/photo_eval`` (255 left out); the mean is over the set's classes (names the
model cannot score count as 0) and, in a second column, over the classes it supports.

    OMP_NUM_THREADS=2 nice -n 10 python bench/photo_refine.py [--out bench/results/photo_refine.md]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from core.inference.postprocess import Scores
from core.inference.runtime import Predictor
from core.io.atomic import atomic_write_text
from core.photo import FEATURES, photo_model_folder
from core.photo.grabcut import grabcut_logits

EVAL = Path(__file__).resolve().parents[1] / "resources" / "photo_eval"


def evaluate(rows: dict[str, list[tuple[np.ndarray, np.ndarray]]], classes: list[str], supported: list[str]) -> str:
    out = []
    for name, pairs in rows.items():
        inter, union, present = np.zeros(len(classes) + 1), np.zeros(len(classes) + 1), np.zeros(len(classes) + 1,
                                                                                                    bool)
        for labels, truth in pairs:
            valid = truth != 255
            for k in range(len(classes) + 1):
                a, b = (labels == k) & valid, (truth == k) & valid
                inter[k] += (a & b).sum()
                union[k] += (a | b).sum()
                present[k] |= b.any()
        iou = inter / np.maximum(union, 1)
        fg = [k for k in range(1, len(classes) + 1) if present[k]]
        sup = [k for k in fg if classes[k - 1] in supported]
        per = " ".join(f"{classes[k - 1]} {iou[k]:.2f}" for k in sup)
        out.append(f"| {name} | {iou[fg].mean():.3f} | {iou[sup].mean():.3f} | {per} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results/photo_refine.md"))
    args = parser.parse_args()
    from core.photo.export import export_photo_model

    classes = [line.split(":")[0] for line in (EVAL / "labelmap.txt").read_text().splitlines()[2:]]
    ids = (EVAL / "ImageSets" / "Segmentation" / "test.txt").read_text().split()
    shipped = Predictor(photo_model_folder(), device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        export_photo_model(tmp, radius=0)
        raw = Predictor(tmp, device="cpu", text_encoder=shipped.text)
        supported = [c for c in classes if c not in shipped.text.missing(classes)]
        tables, seconds = [], []
        for protocol in ("project", "names present"):
            rows: dict[str, list] = {"no refinement": [], "guided filter (scorer graph, shipped)": [],
                                     "guided filter + GrabCut (1 iteration)": []}
            for image_id in ids:
                image = np.array(Image.open(EVAL / "JPEGImages" / f"{image_id}.jpg").convert("RGB"))
                truth = np.array(Image.open(EVAL / "SegmentationClass" / f"{image_id}.png"))
                names = supported if protocol == "project" else [
                    n for n in supported if (truth == classes.index(n) + 1).any()]
                lut = np.zeros(256, np.uint8)
                lut[1 : len(names) + 1] = [classes.index(n) + 1 for n in names]
                if not names:
                    for pairs in rows.values():
                        pairs.append((np.zeros_like(truth), truth))
                    continue
                matrix = shipped.text.embed(names)
                feats = shipped.features(image, image_id)
                guided, _ = shipped.model.logits(feats, names, matrix)
                plain, _ = raw.model.logits(raw.features(image, image_id), names, matrix)
                start = time.perf_counter()
                cut = grabcut_logits(feats[FEATURES.index("guide")][0, :3], guided)
                seconds.append(time.perf_counter() - start)
                for pairs, logits in zip(rows.values(), (plain, guided, cut), strict=True):
                    pairs.append((lut[Scores(logits, None, truth.shape, threshold=0.5).labels()], truth))
            tables.append(f"**{protocol}**\n\n| refinement | mean IoU, all {len(classes)} classes | mean IoU, "
                          f"{len(supported)} supported | per class |\n|---|---|---|---|\n"
                          + evaluate(rows, classes, supported))
    text = "\n".join([
        "# Photo model: edge-aware refinement on the real-photo set", "",
        f"`python bench/photo_refine.py`; {len(ids)} photos of resources/photo_eval; unsupported names "
        f"({', '.join(c for c in classes if c not in supported)}) are not drawn and count as 0 in the first mean. "
        f"GrabCut median {np.median(seconds):.2f} s per photo (all its classes, CPU).", "",
        *[t + "\n" for t in tables]])
    atomic_write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
