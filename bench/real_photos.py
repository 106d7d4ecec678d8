"""Zero-shot masks on real photographs: per-class IoU and mean IoU on ``resources/photo_eval`` (nine photos from
PyPI wheels with hand-seeded masks), through the public runtime (:class:`core.inference.runtime.Predictor`).

Two protocols:

* **project**: every image is predicted with the set's whole class list (a labeler's project has one list);
* **names present**: each image only with the names its mask holds.

A name the model cannot score (an unknown word, or a name no ImageNet concept supports) is not drawn: its pixels
count as missed. IoU per class is summed over the whole set (intersection / union of all its pixels); the mean is
over the classes of the set (all present in the masks); 255 pixels are left out.

Rows: the shapes demo model (baseline); the photo model (ImageNet concepts) without refinement, with its guided
filter, with WordNet and with text similarity only (MiniLM ConSE); plus classes taught by strokes on one image and
a self-trained model when given (``--selftrained RUN/onnx``, from :mod:`training.photo_selftrain`).

Run::

    OMP_NUM_THREADS=2 nice -n 10 python -m bench.real_photos [--selftrained RUN/onnx] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from core.data.layout import LayoutDataset
from core.inference.runtime import Predictor, demo_model_folder
from core.io.atomic import atomic_write_text

EVAL = Path(__file__).resolve().parents[1] / "resources" / "photo_eval"
#: Classes the photo model cannot score (no ImageNet concept): taught by strokes on ``STROKE_IMAGE``.
STROKE_CLASSES = ("sky", "tree", "water")
STROKE_IMAGE = "china"

Predict = Callable[[np.ndarray, Sequence[str], str], np.ndarray]  # image, names, id -> labels (0 = bg, i = names[i-1])


def scorable(predictor: Predictor, names: Sequence[str]) -> list[str]:
    """The names the predictor's text encoder can embed (others are not drawn, as in the app)."""
    missing = predictor.text.missing(list(names))
    return [n for n in names if n not in missing]


def runtime_predict(predictor: Predictor) -> Predict:
    def predict(image: np.ndarray, names: Sequence[str], key: str) -> np.ndarray:
        usable = scorable(predictor, names)
        labels = predictor.predict(image, usable, key=key).labels if usable else np.zeros(image.shape[:2], np.uint8)
        lut = np.array([0] + [list(names).index(n) + 1 for n in usable] + [0] * (255 - len(usable)), np.uint8)
        return lut[labels]

    return predict


def evaluate(ds: LayoutDataset, predict: Predict, protocol: str) -> dict[str, float]:
    """Per-class IoU over the set (and ``mean``) for one protocol: ``project`` or ``present``."""
    classes = list(ds.classes)
    inter = np.zeros(len(classes))
    union = np.zeros(len(classes))
    for sample_id in ds.ids("test"):
        image, truth = ds.image(sample_id), ds.label(sample_id)
        names = classes[1:] if protocol == "project" else [classes[v] for v in np.unique(truth) if v not in (0, 255)]
        pred = predict(image, names, sample_id)
        pred = np.array([0] + [classes.index(n) for n in names], np.int64)[pred]  # -> dataset indices
        valid = truth != 255
        for c in range(1, len(classes)):
            p, t = (pred == c) & valid, (truth == c) & valid
            inter[c] += (p & t).sum()
            union[c] += (p | t).sum()
    result = {classes[c]: inter[c] / union[c] for c in range(1, len(classes)) if union[c] > 0}
    result["mean"] = float(np.mean(list(result.values())))
    return result


# -- strokes ------------------------------------------------------------------------------------------------
def simulate_strokes(labels: np.ndarray, value: int, n: int = 3, width: int = 7, seed: int = 0) -> np.ndarray:
    """``n`` straight strokes a labeler might paint inside the region ``value`` (at least 30 px long, 7 px from
    its border), as an image-size boolean mask."""
    rng = np.random.default_rng(seed)
    region = labels == value
    inside = cv2.erode(region.astype(np.uint8), np.ones((15, 15), np.uint8))
    ys, xs = np.nonzero(inside)
    out = np.zeros(labels.shape, np.uint8)
    for _ in range(n if ys.size else 0):
        for _attempt in range(50):
            i, j = rng.integers(len(ys), size=2)
            line = np.zeros_like(out)
            cv2.line(line, (int(xs[i]), int(ys[i])), (int(xs[j]), int(ys[j])), 1, width)
            if np.hypot(xs[i] - xs[j], ys[i] - ys[j]) > 30 and not (line.astype(bool) & ~region).any():
                out |= line
                break
    return out.astype(bool)


def teach_strokes(ds: LayoutDataset, features: Callable[[np.ndarray, str], np.ndarray], image_id: str,
                  taught: Sequence[str], crop: slice | None = None):
    """A stroke head taught on one image (optionally a column crop of it): strokes of each taught class and of
    every other region present (negatives). Returns the head and the median fit time in seconds."""
    from core.photo.strokes import StrokeHead

    image, truth = ds.image(image_id), ds.label(image_id)
    if crop is not None:
        image, truth = image[:, crop], truth[:, crop]
    classes = list(ds.classes)
    feats = features(np.ascontiguousarray(image), f"{image_id}:{crop}")
    strokes = {n: simulate_strokes(truth, classes.index(n), seed=i) for i, n in enumerate(taught)}
    negatives = np.zeros(truth.shape, bool)
    for v in np.unique(truth):
        if v != 255 and classes[v] not in taught:
            negatives |= simulate_strokes(truth, int(v), seed=100 + int(v))
    times = []
    for _ in range(5):
        head = StrokeHead("photo-model").add(feats, strokes, negatives)
        start = time.perf_counter()
        head.fit()
        times.append(time.perf_counter() - start)
    return head, statistics.median(times)


def with_strokes(base: Predict, head, features: Callable[[np.ndarray, str], np.ndarray]) -> Predict:
    """The base model's labels, with the stroke-taught classes drawn where the head says so and the base model
    draws nothing (a class the model scores keeps its pixels)."""

    def predict(image: np.ndarray, names: Sequence[str], key: str) -> np.ndarray:
        labels = base(image, names, key)
        base_labels = labels.copy()
        taught = [n for n in head.classes if n in names]
        if taught:
            strokes = head.predict(features(image, key), image.shape[:2])
            for i, name in enumerate(head.classes):
                if name in taught:
                    labels[(strokes == i + 1) & (base_labels == 0)] = list(names).index(name) + 1
        return labels

    return predict


def stroke_transfer(ds: LayoutDataset, features) -> tuple[list[str], float]:
    """Table rows: a class taught on one image, IoU on other images of its scene type."""
    classes = list(ds.classes)
    rows = []
    half = ds.image(STROKE_IMAGE).shape[1] // 2
    head, fit_s = teach_strokes(ds, features, STROKE_IMAGE, STROKE_CLASSES + ("building",), slice(0, half))
    image, truth = ds.image(STROKE_IMAGE)[:, half:], ds.label(STROKE_IMAGE)[:, half:]
    pred = head.predict(features(np.ascontiguousarray(image), f"{STROKE_IMAGE}:right"), truth.shape)
    for i, name in enumerate(head.classes):
        rows.append(f"| {name} | left half of {STROKE_IMAGE} | right half of {STROKE_IMAGE} (same photo, no overlap) "
                    f"| {_iou(pred == i + 1, truth, classes.index(name)):.2f} |")
    head, _ = teach_strokes(ds, features, STROKE_IMAGE, STROKE_CLASSES)
    for other in ("rocket", "camera"):
        image, truth = ds.image(other), ds.label(other)
        pred = head.predict(features(image, other), truth.shape)
        rows.append(f"| sky | {STROKE_IMAGE} (whole) | {other} (another photo) "
                    f"| {_iou(pred == head.classes.index('sky') + 1, truth, classes.index('sky')):.2f} |")
    return rows, fit_s


def _iou(pred: np.ndarray, truth: np.ndarray, value: int) -> float:
    valid = truth != 255
    t = (truth == value) & valid
    p = pred & valid
    return float((p & t).sum() / max(1, (p | t).sum()))


# -- models -------------------------------------------------------------------------------------------------
def text_only_names():
    """The photo model's names without WordNet: MiniLM-near concepts (ConSE) only."""
    from core.photo.names import ImageNetConceptNames
    from core.photo.wordnet import ImageNetWordNet

    wordnet = copy.copy(ImageNetWordNet.load())  # a copy: the loaded resource is shared (cached)
    wordnet.classes = lambda _phrase: []  # WordNet off: a name reaches concepts only through text similarity
    return ImageNetConceptNames(wordnet)


def _without_refine(folder: Path) -> Path:
    """A copy of a model folder whose manifest asks for no post-process (the scorer's own output only)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if "refine" not in manifest:
        return folder
    out = Path(tempfile.mkdtemp(prefix="zerolabel-norefine-"))
    for item in folder.iterdir():
        if item.is_file() and item.name != "manifest.json":
            shutil.copyfile(item, out / item.name)
    manifest.pop("refine")
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--selftrained", type=Path, action="append", default=[],
                    help="an exported self-trained model folder (RUN/onnx); repeatable, LABEL=PATH allowed")
    ap.add_argument("--photo-model", type=Path, help="photo model folder (default: the shipped resources/photo_model)")
    ap.add_argument("--note", action="append", default=[], help="a paragraph appended to the table (repeatable)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "real_photos.md")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    from core.photo import photo_model_folder, stroke_features
    from core.photo.export import export_photo_model

    ds = LayoutDataset(EVAL)
    folder = args.photo_model or photo_model_folder()
    photo = Predictor(folder, device="cpu")
    raw = _without_refine(export_photo_model(Path(tempfile.mkdtemp(prefix="zerolabel-raw-")), radius=0).parent)
    guided = Predictor(_without_refine(folder), device="cpu")
    refine = photo.model.manifest.get("refine")

    def feats(image: np.ndarray, key: str) -> np.ndarray:
        return stroke_features(photo, image, key)

    head, _ = teach_strokes(ds, feats, STROKE_IMAGE, STROKE_CLASSES)
    taught = f"+ {', '.join(STROKE_CLASSES)} taught by strokes on {STROKE_IMAGE}"
    models: list[tuple[str, Predict]] = [
        ("shapes demo model (baseline)", runtime_predict(Predictor(demo_model_folder(), device="cpu"))),
        ("photo model, raw (no refinement)", runtime_predict(Predictor(raw, device="cpu"))),
        ("photo model, guided filter only", runtime_predict(guided)),
        (f"photo model {taught}, guided filter only", with_strokes(runtime_predict(guided), head, feats)),
    ]
    if refine:
        models += [(f"photo model, guided filter + {refine} (as shipped)", runtime_predict(photo)),
                   (f"photo model {taught}, guided filter + {refine}", with_strokes(runtime_predict(photo), head,
                                                                                  feats))]
    models.append(("photo model as shipped, text similarity only (no WordNet)",
                   runtime_predict(Predictor(folder, device="cpu", text_encoder=text_only_names()))))
    for spec in args.selftrained:
        label, _, path = str(spec).rpartition("=")
        models.append((f"self-trained {label or Path(path).parent.name}",
                       runtime_predict(Predictor(Path(path), device="cpu"))))

    classes = list(ds.classes[1:])
    lines = [f"# Real photos ({len(ds.ids('test'))} photos of resources/photo_eval, {len(classes)} classes)", "",
             "Command: `OMP_NUM_THREADS=2 nice -n 10 python -m bench.real_photos "
             + " ".join(f"--selftrained {shlex.quote(str(s))}" for s in args.selftrained)
             + (f" --photo-model {args.photo_model}" if args.photo_model else "") + "`", ""]
    for protocol, title in (("project", "project protocol (every image with the whole class list)"),
                            ("present", "names-present protocol (each image with the names in its mask)")):
        lines += [f"## IoU, {title}", "", "| model | mIoU | " + " | ".join(classes) + " |",
                  "|---|---|" + "---|" * len(classes)]
        for label, predict in models:
            r = evaluate(ds, predict, protocol)
            lines.append(f"| {label} | **{r['mean']:.3f}** | "
                         + " | ".join(f"{r.get(c, float('nan')):.2f}" for c in classes) + " |")
            print(lines[-1], flush=True)
        lines.append("")
    rows, fit_s = stroke_transfer(ds, feats)
    lines += ["## Classes taught by strokes on one image (photo model's `strokes` features)", "",
              f"Three simulated 7-px strokes per class inside its mask, plus strokes on every other region as "
              f"negatives; head fit time (median of 5): {fit_s * 1000:.0f} ms.", "",
              "| class | strokes on | evaluated on | IoU |", "|---|---|---|---|", *rows, ""]
    print("\n".join(rows))
    for spec in args.selftrained:
        run = Path(str(spec).rpartition("=")[2]).parent
        if (run / "selftrain-photos.json").is_file() and (run / "config.json").is_file():
            info = json.loads((run / "selftrain-photos.json").read_text(encoding="utf-8"))
            cfg = json.loads((run / "config.json").read_text(encoding="utf-8"))
            lines.append(f"Self-trained `{run.name}`: folder {info['folder']}, classes {', '.join(info['classes'])}, "
                         f"top-p {info['top_p']} %, {cfg['method']} on {cfg['backbone']} (ImageNet weights, "
                         f"{'frozen' if cfg.get('freeze_backbone') else 'trained'}), {cfg['steps']} steps of "
                         f"{cfg['batch_size']} crops of {cfg['image_size']} px, {cfg['embedding']} class embeddings.")
            lines.append("")
    for note in args.note:
        lines += [note, ""]
    atomic_write_text(args.out, "\n".join(lines).rstrip() + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
