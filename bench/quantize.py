"""int8 encoders (``zerolabel quantize``) against the float ones: speed and accuracy side by side, in one run.

For each shipped model (the photo model, the shapes demo model):

* **accuracy**: the benchmark metric of each model, float and int8, scored by :func:`bench.real_photos.evaluate`
  (IoU summed per class over the set, mean over classes; project protocol = every image with the whole class list):
  the photo model on ``resources/photo_eval``, the demo model on a shapes test split made here
  (``make-shapes --size 96 --train 10 --val 0 --test 100``; unseen-class mean reported too), plus the masks' IoU
  against the float model's masks (per image, mean over the labels either map holds; mean over images).
* **calibration never sees the scored images**: the demo model is calibrated on the shapes train split; the photo
  set has no other photos, so it is split in two folds (alternate ids) and each fold's images are predicted by an
  int8 encoder calibrated on the other fold.
* **speed**: encoder latency at the working resolution of a 4000x3000 photo and the end-to-end
  ``Predictor.predict`` of that photo (new image each time: encoder + scorer + post-processing), float vs int8,
  and the encoder under ONNX Runtime's graph optimisation levels and intra-op thread counts: all variants of a
  table timed interleaved (:func:`bench.inference.interleaved`), medians.

Run::

    OMP_NUM_THREADS=1 nice -n 10 python -m bench.quantize [--repeats 7] [--out bench/results/quantize.md]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from bench.inference import interleaved
from bench.real_photos import EVAL, evaluate, runtime_predict, scorable
from core.data.layout import LayoutDataset
from core.inference.preprocess import Preprocessing, preprocess
from core.inference.quantize import quantize_model, use_fp32
from core.inference.runtime import Predictor, demo_model_folder
from core.io.atomic import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results" / "quantize.md"
PHOTO_SIZE = (3000, 4000)  # height, width
#: Largest change of the benchmark metric (IoU points) for which int8 may be a model's default.
TOLERANCE = 1.0


def float_copy(folder: Path, target: Path) -> Path:
    """A copy of a model folder that runs its float encoder."""
    shutil.copytree(folder, target)
    use_fp32(target)
    return target


def image_folder(ds: LayoutDataset, ids: Sequence[str], target: Path) -> Path:
    """A folder holding the images of ``ids`` (calibration input)."""
    target.mkdir(parents=True)
    for i in ids:
        shutil.copyfile(ds.image_path(i), target / ds.image_path(i).name)
    return target


def recorded(predict, store: dict):
    """``predict`` that also keeps each label map by (key, names)."""

    def wrapped(image, names, key):
        labels = predict(image, names, key)
        store[(key, tuple(names))] = labels
        return labels

    return wrapped


def mask_iou(reference: dict, other: dict) -> float:
    """Mean over images of the mean IoU, over the labels either map holds, of ``other``'s masks vs ``reference``."""
    scores = []
    for key, a in reference.items():
        b = other[key]
        ious = [((a == v) & (b == v)).sum() / ((a == v) | (b == v)).sum() for v in np.union1d(a, b)]
        scores.append(float(np.mean(ious)))
    return float(np.mean(scores))


def accuracy_rows(ds: LayoutDataset, fp32, int8, unseen: Sequence[str] = ()) -> tuple[list[str], float]:
    """Table rows (metric per protocol, float vs int8, masks IoU) and the largest metric change in IoU points."""
    rows, worst = [], 0.0
    for protocol in ("project", "present"):
        a_store: dict = {}
        b_store: dict = {}
        a = evaluate(ds, recorded(fp32, a_store), protocol)
        b = evaluate(ds, recorded(int8, b_store), protocol)
        cells = [("mIoU", a["mean"], b["mean"])]
        if unseen:
            cells.append(("unseen mIoU", *(float(np.mean([r.get(c, 0.0) for c in unseen])) for r in (a, b))))
        for name, x, y in cells:
            worst = max(worst, abs(y - x) * 100)
            rows.append(f"| {protocol} | {name} | {x:.4f} | {y:.4f} | {(y - x) * 100:+.2f} | "
                        f"{mask_iou(a_store, b_store):.4f} |")
            print(rows[-1], flush=True)
    return rows, worst


def speed_rows(label: str, fp32: Path, int8: Path, image: np.ndarray, names: list[str], repeats: int,
               threads: int) -> list[str]:
    """Encoder latency at the working resolution and end-to-end predict at full size, float vs int8."""
    predictors = {"fp32": Predictor(fp32, device="cpu", threads=threads, cache_size=1),
                  "int8": Predictor(int8, device="cpu", threads=threads, cache_size=1)}
    names = scorable(predictors["fp32"], names)  # as the app: names the model cannot score are not drawn
    x = predictors["fp32"].model.preprocess(image)
    enc = interleaved({k: (lambda p=p: p.model.encoder.run(None, {"image": x})) for k, p in predictors.items()},
                      repeats)
    counter = iter(range(10**9))
    e2e = interleaved({k: (lambda p=p: p.predict(image, names, key=f"new-{next(counter)}"))
                       for k, p in predictors.items()}, repeats)
    h, w = x.shape[2:]
    return [f"| {label} | encoder at {w}x{h} | {enc['fp32'] * 1000:.0f} | {enc['int8'] * 1000:.0f} | "
            f"{enc['fp32'] / enc['int8']:.2f}x |",
            f"| {label} | predict {image.shape[1]}x{image.shape[0]}, {len(names)} classes (end to end) | "
            f"{e2e['fp32'] * 1000:.0f} | {e2e['int8'] * 1000:.0f} | {e2e['fp32'] / e2e['int8']:.2f}x |"]


def settings_rows(label: str, folders: dict[str, Path], image: np.ndarray, repeats: int,
                  thread_counts: Sequence[int]) -> list[str]:
    """The encoder under each graph optimisation level x intra-op thread count (one interleaved set)."""
    import onnxruntime as ort

    levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    variants = {}
    for precision, folder in folders.items():
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        x = preprocess(image, Preprocessing.from_manifest(manifest))
        for level, value in levels.items():
            for n in thread_counts:
                options = ort.SessionOptions()
                options.log_severity_level = 3
                options.graph_optimization_level = value
                options.intra_op_num_threads = n
                options.inter_op_num_threads = 1
                session = ort.InferenceSession(str(folder / manifest["encoder"]), options,
                                               providers=["CPUExecutionProvider"])
                variants[(precision, level, n)] = lambda s=session, x=x: s.run(None, {"image": x})
    times = interleaved(variants, repeats)
    best = min(times, key=times.get)
    return [f"| {label} | {p} | {lv} | {n} | {t * 1000:.0f} |" + (" **fastest** |" if (p, lv, n) == best else " |")
            for (p, lv, n), t in times.items()]


def photo_models(work: Path) -> tuple[LayoutDataset, Path, dict[str, Path], dict[str, int]]:
    """The float photo model and two int8 ones, each calibrated on one fold of the eval photos."""
    from core.photo import photo_model_folder

    ds = LayoutDataset(EVAL)
    ids = ds.ids("test")
    folds = {"A": ids[0::2], "B": ids[1::2]}
    fp32 = float_copy(photo_model_folder(), work / "photo-fp32")
    int8 = {}
    for fold, members in folds.items():
        int8[fold] = shutil.copytree(fp32, work / f"photo-int8-{fold}")
        quantize_model(int8[fold], image_folder(ds, members, work / f"calib-{fold}"))
    owner = {i: ("B" if i in folds["A"] else "A") for i in ids}  # each image: the model calibrated on the other fold
    return ds, fp32, int8, owner


def shapes_models(work: Path) -> tuple[LayoutDataset, Path, Path]:
    """A shapes test split, the float demo model and its int8 encoder calibrated on the split's train images."""
    data = work / "shapes"
    subprocess.run([sys.executable, "-m", "training", "data", "make-shapes", str(data), "--size", "96", "--train",
                    "10", "--val", "0", "--test", "100"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    ds = LayoutDataset(data)
    fp32 = float_copy(demo_model_folder(), work / "shapes-fp32")
    int8 = shutil.copytree(fp32, work / "shapes-int8")
    quantize_model(int8, image_folder(ds, ds.ids("train"), work / "calib-shapes"))
    return ds, fp32, int8


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads for the float/int8 rows (0: all CPUs)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="zerolabel-bench-quant-"))
    from core.inference.runtime import default_threads

    threads = args.threads or default_threads()
    photo_ds, photo32, photo8, owner = photo_models(work)
    shapes_ds, shapes32, shapes8 = shapes_models(work)

    acc = ["| model | protocol | metric | fp32 | int8 | change (IoU points) | masks IoU int8 vs fp32 |",
           "|---|---|---|---|---|---|---|"]
    folds = {f: runtime_predict(Predictor(p, device="cpu", threads=threads)) for f, p in photo8.items()}
    rows, photo_worst = accuracy_rows(photo_ds, runtime_predict(Predictor(photo32, device="cpu", threads=threads)),
                                      lambda image, names, key: folds[owner[key]](image, names, key))
    acc += [f"| photo model (resources/photo_eval, 2-fold calibration) {r}" for r in rows]
    unseen = sorted(shapes_ds.unseen)
    rows, shapes_worst = accuracy_rows(shapes_ds, runtime_predict(Predictor(shapes32, device="cpu", threads=threads)),
                                       runtime_predict(Predictor(shapes8, device="cpu", threads=threads)), unseen)
    acc += [f"| shapes demo model (100 test images, calibrated on 10 train) {r}" for r in rows]

    photo = cv2.resize(photo_ds.image("china"), PHOTO_SIZE[::-1], interpolation=cv2.INTER_CUBIC)
    speed = ["| model | what | fp32 ms | int8 ms | speed-up |", "|---|---|---|---|---|"]
    speed += speed_rows("photo", photo32, photo8["A"], photo, list(photo_ds.classes[1:]), args.repeats, threads)
    speed += speed_rows("shapes demo", shapes32, shapes8, photo, [*shapes_ds.classes[1:6]], args.repeats, threads)
    print("\n".join(speed), flush=True)
    counts = sorted({1, threads})
    settings = ["| model | precision | graph optimisation | intra-op threads | encoder ms | |",
                "|---|---|---|---|---|---|"]
    settings += settings_rows("photo", {"fp32": photo32, "int8": photo8["A"]}, photo, args.repeats, counts)
    settings += settings_rows("shapes demo", {"fp32": shapes32, "int8": shapes8}, photo, args.repeats, counts)
    print("\n".join(settings), flush=True)

    verdict = [f"| {name} | {worst:.2f} | {'int8' if worst < TOLERANCE else 'fp32'} |"
               for name, worst in (("photo model", photo_worst), ("shapes demo model", shapes_worst))]
    import onnxruntime

    lines = ["# int8 encoders (ONNX Runtime static quantization) vs float", "",
             f"Command: `OMP_NUM_THREADS=1 nice -n 10 python -m bench.quantize --repeats {args.repeats}"
             + (f" --threads {args.threads}" if args.threads else "") + "`", "",
             f"ONNX Runtime {onnxruntime.__version__}, CPU execution provider, {threads} intra-op threads unless the "
             f"table says otherwise; medians of {args.repeats} interleaved runs on a shared 2-core machine "
             "(other jobs running: compare ratios, not absolute times). Quantization: `zerolabel quantize` "
             "(QDQ, weights int8 per channel, activations uint8, MinMax calibration; Conv/MatMul/Gemm with their "
             "Clip/Relu quantized, everything else float).", "",
             "## Accuracy", "", *acc, "",
             f"## Default per model (int8 only when the benchmark metric moves less than {TOLERANCE:.0f} IoU point)",
             "", "| model | largest metric change (IoU points) | default |", "|---|---|---|", *verdict, "",
             "## Speed", "", *speed, "",
             "## ONNX Runtime settings (encoder at the working resolution of the 4000x3000 photo)", "", *settings, ""]
    atomic_write_text(args.out, "\n".join(lines))
    print(f"written to {args.out}; work folder {work}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
