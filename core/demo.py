"""``zerolabel demo``: the foundation end to end on generated data, with no trained model.

Steps: write a small shapes benchmark, read it back through the layout reader, embed its class names with the
offline GloVe vectors, show which seen classes each unseen class is closest to, and evaluate a training-free
zero-shot baseline under the papers' protocol (metrics JSON + table).

The baseline is deliberately simple and honest: each *seen* class gets a colour prototype (mean RGB of its
training pixels); a ridge-regression map from class embedding to prototype, fitted on the seen classes, gives
the *unseen* prototypes, so knowledge flows from seen to unseen classes only through the word vectors. Pixels
take the nearest prototype when it is close enough, else background. It can separate colours, not shapes, which
the per-class IoU shows. (The nearest seen classes of an unseen one, printed in step 3, share its shape word, not
its colour word: summed GloVe vectors are dominated by the shape word.) Trained models (``zerolabel train``) replace it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.data.layout import LayoutDataset
from core.data.shapes import ShapesConfig, make_sample, write_shapes
from core.embeddings import build_encoder
from core.metrics import Evaluator
from core.metrics.report import format_table, write_json

#: Pixels farther than this (RGB Euclidean) from every prototype are background.
MAX_COLOUR_DISTANCE = 60.0
#: Number of nearest seen classes printed per unseen class.
NEIGHBOURS = 3


def colour_prototypes(ds: LayoutDataset, seen: list[str], split: str = "train") -> dict[str, np.ndarray]:
    """Mean RGB of the training pixels of each seen class (only seen classes: training holds no unseen)."""
    sums = {name: np.zeros(3) for name in seen}
    counts = dict.fromkeys(seen, 0)
    index = {name: ds.classes.index(name) for name in seen}
    for sample in ds.iter_split(split):
        for name, i in index.items():
            mask = sample.label == i
            if mask.any():
                sums[name] += sample.image[mask].astype(np.float64).sum(0)
                counts[name] += int(mask.sum())
    return {n: sums[n] / counts[n] for n in seen if counts[n]}


def transfer_prototypes(
    protos: dict[str, np.ndarray], vectors: dict[str, np.ndarray], unseen: list[str], ridge: float = 0.1
) -> dict[str, np.ndarray]:
    """Unseen prototypes from a linear map embedding -> colour, fitted in closed form on the seen classes.

    A miniature of the papers' idea (learn on seen classes a map between the semantic and the visual space,
    apply it to unseen class embeddings): ridge regression ``W = argmin |E_s W - P_s|^2 + ridge |W|^2``.
    """
    seen = list(protos)
    e = np.stack([vectors[n] for n in seen]).astype(np.float64)
    p = np.stack([protos[n] for n in seen])
    mean_e, mean_p = e.mean(0), p.mean(0)
    ec = e - mean_e
    w = np.linalg.solve(ec.T @ ec + ridge * np.eye(e.shape[1]), ec.T @ (p - mean_p))
    return {u: np.clip((vectors[u] - mean_e) @ w + mean_p, 0, 255) for u in unseen}


def predict(image: np.ndarray, classes: tuple[str, ...], protos: dict[str, np.ndarray]) -> np.ndarray:
    """Nearest-prototype label map; background where no prototype is within ``MAX_COLOUR_DISTANCE``."""
    names = [n for n in classes[1:] if n in protos]
    centres = np.stack([protos[n] for n in names])
    dist = np.linalg.norm(image[:, :, None, :].astype(np.float64) - centres[None, None], axis=-1)
    best = dist.argmin(-1)
    lut = np.array([classes.index(n) for n in names], dtype=np.uint8)
    pred = lut[best]
    pred[dist.min(-1) > MAX_COLOUR_DISTANCE] = 0
    return pred


def run_demo(out: str | Path = "demo-output", provider: str = "glove50", train: int = 120, test: int = 60,
             seed: int = 0) -> int:
    """Run the demo into ``out`` and print each step's result (``zerolabel demo``)."""
    started = time.perf_counter()
    out = Path(out)
    cfg = ShapesConfig(train=train, val=0, test=test, seed=seed)
    data = out / "shapes"
    spec = write_shapes(data, cfg)
    print(f"1. wrote {cfg.train + cfg.test} images of {len(spec.classes)} '<colour> <shape>' classes to {data}")
    print(f"   unseen (never in training images): {', '.join(spec.unseen)}")

    ds = LayoutDataset(data)
    first = ds.ids("test")[0]
    image, label = make_sample(cfg, spec, "test", 0)
    same = np.array_equal(ds.image(first), image) and np.array_equal(ds.label(first), label)
    print(f"2. read back through the layout reader: {len(ds.ids('train'))} train / {len(ds.ids('test'))} test "
          f"images, first test sample identical to the generator: {same}")

    encoder = build_encoder(provider)
    seen, unseen = spec.seen, spec.unseen
    vectors = encoder.embed(seen + unseen)
    sims = vectors[len(seen):] @ vectors[: len(seen)].T
    print(f"3. embedded {len(seen) + len(unseen)} class names with {encoder.source} (dim {encoder.dim}); "
          "nearest seen classes:")
    for u, row in zip(unseen, sims, strict=True):
        near = ", ".join(f"{seen[j]} ({row[j]:.2f})" for j in np.argsort(-row)[:NEIGHBOURS])
        print(f"   {u:16s} -> {near}")

    protos = colour_prototypes(ds, seen)
    protos.update(transfer_prototypes(protos, dict(zip(seen + unseen, vectors, strict=True)), unseen))
    print("4. closed-form baseline: seen colour prototypes, unseen ones from a ridge map embedding -> colour")
    for u in unseen:
        print(f"   {u:16s} -> predicted RGB {np.round(protos[u]).astype(int).tolist()}")
    results = {}
    for setting in ("gzlss", "zlss"):
        ev = Evaluator(ds.classes, unseen=unseen, setting=setting)
        for sample in ds.iter_split("test"):
            allowed = protos if setting == "gzlss" else {n: protos[n] for n in unseen}
            ev.add(predict(sample.image, ds.classes, allowed), sample.label)
        results[setting] = ev.result()
        write_json(results[setting], out / f"metrics_{setting}.json")
        print(f"\n   {setting.upper()} on {len(ds.ids('test'))} test images:")
        print("   " + format_table(results[setting]).replace("\n", "\n   "))
    print(f"\n5. metrics JSON written to {out}/metrics_gzlss.json and metrics_zlss.json "
          f"({time.perf_counter() - started:.1f} s in all)")
    print("   This baseline only knows colours; train a real zero-shot model with `zerolabel train`.")
    embedded_model_step(out)
    photo_step(out)
    return 0


PHOTO_NAMES = ("cat", "cup", "person", "rocket", "flower", "building")


def photo_step(out: Path) -> None:
    """7. The built-in photo model (ImageNet concepts through WordNet) labels the sample photographs."""
    from core.data.palette import class_colours
    from core.errors import ZerolabelError
    from core.inference.builtin import builtin_model_folder
    from core.inference.runtime import Predictor
    from core.io.image import read_image, write_image
    from core.photo import sample_photos_folder

    try:
        predictor = Predictor(builtin_model_folder("photos"))
    except ZerolabelError as exc:
        print(f"\n7. (photo model unavailable: {exc}; skipped)")
        return
    palette = np.array([(0, 0, 0), *class_colours(PHOTO_NAMES)], np.uint8)
    print(f"\n7. built-in photo model (ImageNet concepts, ONNX Runtime on {predictor.model.device}) on the sample "
          f"photographs, every photo with the names {', '.join(PHOTO_NAMES)}:")
    for path in sorted(sample_photos_folder().glob("*.jpg")):
        image = read_image(path)
        labels = predictor.predict(image, list(PHOTO_NAMES), key=str(path)).labels
        shares = np.bincount(labels.ravel(), minlength=len(PHOTO_NAMES) + 1)[1:] / labels.size
        found = ", ".join(f"{n} {v:.0%}" for n, v in zip(PHOTO_NAMES, shares, strict=True) if v > 0) or "nothing"
        print(f"   {path.name:14s} -> {found}")
        blend = (0.5 * image + 0.5 * palette[labels]).astype(np.uint8)
        write_image(out / "photos" / f"{path.stem}.png", np.where(labels[..., None] > 0, blend, image))
    print(f"   overlays in {out / 'photos'}; names no ImageNet concept supports (sky, water) are refused, not drawn: "
          "teach them with strokes in the app")


def embedded_model_step(out: Path) -> None:
    """6. The shipped demo model (ONNX, no torch) pre-labels the sample images for their unseen classes."""
    from core.data.layout import LayoutDataset
    from core.inference.runtime import Predictor, demo_model_folder, sample_images_folder
    from core.io.image import write_image

    folder, samples = demo_model_folder(), sample_images_folder()
    if not (folder / "manifest.json").is_file() or not (samples / "labelmap.txt").is_file():
        print("\n6. (no embedded demo model in resources/; skipped)")
        return
    predictor = Predictor(folder)
    ds = LayoutDataset(samples)
    names = list(ds.unseen)
    print(f"\n6. embedded demo model ({predictor.model.manifest['method']}, ONNX Runtime on {predictor.model.device}) "
          f"labels {len(ds.ids('test'))} sample images for the never-trained classes {', '.join(names)}:")
    evaluator = Evaluator(["background", *names], unseen=names, setting="gzlss", size_edges=None)
    lut = np.full(256, 255, np.uint8)
    lut[0] = 0
    for i, n in enumerate(names, start=1):
        lut[ds.classes.index(n)] = i
    palette = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180]],
                       np.uint8)
    for sample in ds.iter_split("test"):
        pred = predictor.predict(sample.image, names)
        target = lut[sample.label]
        target[~np.isin(sample.label, [0, *[ds.classes.index(n) for n in names], 255])] = 255  # seen: not scored
        evaluator.add(pred.labels, target)
        blend = (0.45 * sample.image + 0.55 * palette[pred.labels % len(palette)]).astype(np.uint8)
        overlay = np.where(pred.labels[..., None] > 0, blend, sample.image)  # background stays as it was
        write_image(out / "embedded_model" / f"{sample.id}.png", np.concatenate([sample.image, overlay], axis=1))
    m = evaluator.result()
    print(f"   unseen-class mIoU {m['unseen']['mIoU']:.1%} (per class: "
          + ", ".join(f"{k} {v:.0%}" for k, v in m["per_class"].items() if k != "background")
          + f"); overlays in {out / 'embedded_model'}")
