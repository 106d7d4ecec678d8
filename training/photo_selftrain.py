"""Self-training on a folder of unlabeled photographs: the photo model labels them, a real segmenter learns.

1. The photo model (ImageNet concepts, :mod:`core.photo`; or any exported model folder) predicts every photo of
   the folder with the class list, through the public runtime (:class:`core.inference.runtime.Predictor`).
2. Pseudo-labels as ZS5Net keeps them: for each class, the top ``top_p`` % most confident pixels the model gives
   that class (one threshold per class over the whole folder); background likewise (the pixels where the best
   class score is lowest); every other pixel is 255 (ignored). Written as a dataset in zerolabel's layout
   (``OUT/pseudo``), so it can be opened, checked and corrected in the app like any other.
3. A segmenter (default SPNet on an ImageNet-initialised EfficientNet-Lite0) is trained on it with the project's
   :class:`training.trainer.Trainer` (``OUT/best.pt``) and exported to ONNX (``OUT/onnx``): the app's model.

No mask of any photo is ever read. ``zerolabel selftrain-photos FOLDER --classes "cat,cup" --out RUN``.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from core.data.base import IGNORE_INDEX
from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter
from core.data.unlabeled import UnlabeledFolder
from core.errors import ZerolabelError
from core.io.atomic import atomic_write_text
from training.config import TrainConfig, preset

#: Photos are stored in the pseudo-label dataset with at most this long side (training crops are smaller).
STORE_SIDE = 512


def pseudo_labels(heatmaps: list[np.ndarray], labels: list[np.ndarray], top_p: float) -> list[np.ndarray]:
    """Per image ``uint8`` maps: class i + 1 on the top ``top_p`` % most confident pixels predicted as class i
    (threshold per class over all images), 0 on the top ``top_p`` % most certain background pixels, else 255.

    ``heatmaps``: per image ``[C, H, W]`` class probabilities; ``labels``: the model's label maps (0 = background).
    """
    if not 0 < top_p <= 100:
        raise ZerolabelError(f"--top-p must be a percentage in (0, 100], got {top_p}")
    out = [np.full(lab.shape, IGNORE_INDEX, np.uint8) for lab in labels]
    count = heatmaps[0].shape[0] if heatmaps else 0
    best = [h.max(0) if len(h) else np.zeros(lab.shape, np.float32) for h, lab in zip(heatmaps, labels, strict=True)]
    scores = [(0, [1 - b for b in best])] + [(c + 1, [h[c] for h in heatmaps]) for c in range(count)]
    for value, conf in scores:
        picked = [c[lab == value] for c, lab in zip(conf, labels, strict=True)]
        values = np.concatenate(picked) if picked else np.zeros(0)
        if values.size == 0:
            continue
        threshold = np.percentile(values, 100 - top_p)
        for o, c, lab in zip(out, conf, labels, strict=True):
            o[(lab == value) & (c >= threshold)] = value
    return out


def _fit_side(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def write_pseudo_dataset(folder: str | Path, classes: Sequence[str], out: str | Path, *,
                         model: str | Path | None = None, top_p: float = 25.0, strokes: str | Path | None = None,
                         emit=lambda _msg: None) -> tuple[Path, dict[str, int]]:
    """Pseudo-label every photo of ``folder`` with ``classes`` and write the dataset to ``out``.

    ``strokes``: a saved :class:`core.photo.strokes.StrokeHead` fitted on the photo model's ``strokes`` features;
    its classes label the pixels the model leaves as background (where the head's probability is highest).
    Returns the dataset folder and the pseudo-labelled pixel count per class. Names neither the model nor the
    stroke head can score are a :class:`ZerolabelError` naming them.
    """
    from core.inference.runtime import Predictor
    from core.photo import photo_model_folder
    from training.messages import Log

    names = [n.strip() for n in classes if n.strip()]
    if not names:
        raise ZerolabelError("--classes: give at least one class name, e.g. --classes \"cat,cup\"")
    predictor = Predictor(model or photo_model_folder())
    head = None
    if strokes:
        from core.photo.strokes import StrokeHead

        head = StrokeHead.load(strokes)
    taught = [n for n in names if head is not None and n in head.classes]
    scored = [n for n in names if n not in taught]
    missing = predictor.text.missing(scored)
    if missing:
        raise ZerolabelError(f"the model cannot score {', '.join(map(repr, missing))}: no concept supports "
                             "them; leave them out or teach them by strokes (--strokes FILE.npz)")
    photos = UnlabeledFolder(folder)
    ids, images, heatmaps, labels = [], [], [], []
    for path, rgb in photos:
        rgb = _fit_side(rgb, STORE_SIDE)
        heat, lab = _predict(predictor, rgb, scored, head, taught)
        ids.append(f"{len(ids):05d}_{path.stem}"[:100])
        images.append(rgb)
        heatmaps.append(heat)
        labels.append(lab)
    order = [names.index(n) for n in scored + taught]  # columns above -> the order of ``names``
    lut = np.array([0] + [order[i] + 1 for i in range(len(order))] + [IGNORE_INDEX] * (255 - len(order)), np.uint8)
    heatmaps = [h[np.argsort(order)] for h in heatmaps]
    labels = [lut[lab] for lab in labels]
    if not images:
        raise ZerolabelError(f"{folder}: no readable photos to self-train on")
    pseudo = pseudo_labels(heatmaps, labels, top_p)
    counts = {name: int(sum((p == i + 1).sum() for p in pseudo)) for i, name in enumerate(names)}
    emit(Log(f"pseudo-labelled pixels on {len(images)} photos: "
             + ", ".join(f"{n} {c}" for n, c in counts.items())
             + (f"; {len(photos.failures)} files could not be read" if photos.failures else "")))
    out = Path(out)
    with DatasetWriter(out, LabelMap.from_names(["background", *names]), image_suffix=".jpg") as writer:
        for i, (sample_id, rgb, lab) in enumerate(zip(ids, images, pseudo, strict=True)):
            writer.add(sample_id, rgb, lab, split="train")
            if i % 4 == 0:  # checkpoint choice on pseudo-labels of a quarter of the photos (no truth exists)
                writer.splits.setdefault("val", []).append(sample_id)
    return out, counts


def _predict(predictor, rgb: np.ndarray, scored: list[str], head, taught: list[str]):
    """Heatmaps ``[C, H, W]`` (scored names, then taught ones) and labels (0 = background, i = column i - 1)."""
    size = rgb.shape[:2]
    if scored:
        pred = predictor.predict(rgb, scored)
        heat, labels = pred.heatmaps, pred.labels
    else:
        heat, labels = np.zeros((0, *size), np.float32), np.zeros(size, np.uint8)
    if not taught:
        return heat, labels
    from core.photo import stroke_features

    probs = head.probabilities(stroke_features(predictor, rgb))
    probs = np.stack([cv2.resize(p, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for p in probs])
    columns = [head.classes.index(n) + 1 for n in taught]
    best = probs.argmax(0)
    labels = labels.copy()
    for j, column in enumerate(columns):
        labels[(labels == 0) & (best == column)] = len(scored) + j + 1
    return np.concatenate([heat, probs[columns]]), labels


def selftrain_photos(folder: str | Path, classes: Sequence[str], out: str | Path, *, model: str | Path | None = None,
                     top_p: float = 25.0, strokes: str | Path | None = None, method: str = "spnet",
                     backbone: str = "effnet-lite0", freeze_backbone: bool = False,
                     pretrained: bool = True, embedding: str = "glove50", steps: int = 300,
                     image_size: int = 224, batch_size: int = 8, lr: float = 3e-4, export: bool = True,
                     messages: queue.Queue | None = None, stop: threading.Event | None = None) -> Path:
    """Pseudo-label ``folder`` with the photo model, train ``method`` on it, export ``OUT/onnx``.

    Returns the exported model folder (or ``OUT/best.pt`` with ``export=False``). Progress goes to ``messages``
    as the trainer's typed messages; ``stop`` ends training early (the checkpoint so far is kept).
    """
    from training.messages import Log
    from training.trainer import Trainer

    out = Path(out)
    emit = messages.put if messages is not None else (lambda _msg: None)
    data, counts = write_pseudo_dataset(folder, classes, out / "pseudo", model=model, top_p=top_p, strokes=strokes,
                                        emit=emit)
    empty = [n for n, c in counts.items() if c == 0]
    if empty:
        emit(Log(f"no pixel of the folder was confidently {', '.join(map(repr, empty))}; the model learns them "
                 "only from their text embedding"))
    values = {**preset("fast", method), "backbone": backbone, "pretrained": pretrained, "image_size": image_size,
              "batch_size": batch_size, "steps": steps, "lr": lr, "lr_halve_every": max(1, steps // 2),
              "eval_every": max(1, steps // 4), "checkpoint_every": max(1, steps // 4),
              "freeze_backbone": freeze_backbone}
    cfg = TrainConfig(**{**values, "method": method, "data": str(data), "out": str(out), "unseen": (),
                         "embedding": embedding})
    trainer = Trainer(cfg, messages, stop)
    checkpoint = trainer.fit()
    atomic_write_text(out / "selftrain-photos.json", json.dumps(
        {"folder": str(folder), "classes": list(classes), "top_p": top_p, "pseudo_pixels": counts,
         "model": str(model or "photos")}, indent=2) + "\n")
    if not export:
        return Path(checkpoint)
    from core.inference.export import export_onnx

    export_onnx(checkpoint, out / "onnx")
    emit(Log(f"model exported to {out / 'onnx'}"))
    return out / "onnx"
