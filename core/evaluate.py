"""Evaluate a checkpoint on a dataset split under the zero-shot protocol (ZLSS or GZLSS), as in the papers.

Predictions are made at the model's resolution and upsampled to each label's own size, so the metrics count
every ground-truth pixel. Images are prepared by the model's preprocessing record and calibrated by the one
calibration rule, as ``zerolabel predict`` and the app do (:mod:`core.inference.preprocess`,
:mod:`core.metrics.calibration`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from core.data.base import SegDataset
from core.data.open import is_layout, open_dataset
from core.embeddings import build_encoder
from core.inference.preprocess import Preprocessing, preprocess
from core.metrics import Evaluator
from core.metrics.calibration import apply_calibration, calibration_offsets, check_gamma
from core.models import load_checkpoint
from core.models.base import Segmenter, predict_probabilities
from core.models.checkpoint import CheckpointError


@torch.no_grad()
def class_probabilities(model: Segmenter, image: np.ndarray, class_matrix: torch.Tensor,
                        record: Preprocessing | None = None) -> np.ndarray:
    """``[1 + C, H, W]`` probabilities (background first) at the image's own size."""
    record = record or Preprocessing.for_model(model)
    feats = model.encode(torch.from_numpy(preprocess(image, record)))
    return predict_probabilities(model, feats, class_matrix, image.shape[:2])[0].numpy()


def evaluate_checkpoint(
    checkpoint: str | os.PathLike,
    data: str | os.PathLike | SegDataset,
    *,
    split: str = "test",
    setting: str = "gzlss",
    calibration: float = 0.0,
    limit: int | None = None,
    unseen: str | list[str] | None = None,
) -> dict:
    """Metrics JSON (ARCHITECTURE.md) of ``checkpoint`` on ``split`` of ``data``.

    Unseen classes: ``unseen`` (names or ``split:NAME``), else the dataset's ``unseen.txt``, else the checkpoint's
    split. The model scores every non-background class of the dataset, whatever its names, with the text encoder
    recorded in the checkpoint.

    Example:
        >>> m = evaluate_checkpoint("runs/rn/best.pt", "/data/shapes", setting="zlss")  # doctest: +SKIP
        >>> m["unseen"]["mIoU"]  # doctest: +SKIP
    """
    calibration = check_gamma(calibration)
    model, ckpt = load_checkpoint(checkpoint)
    model.eval()
    if isinstance(data, SegDataset):
        dataset = data
    else:
        if unseen is None and not is_layout(str(data)):
            unseen = list(ckpt.split.get("unseen", []))
        dataset = open_dataset(str(data), unseen)
        if unseen is None and not dataset.unseen:
            dataset = open_dataset(str(data), list(ckpt.split.get("unseen", [])))
    names = list(dataset.classes)
    encoder = build_encoder(ckpt.embedding_source)
    if model.config.embed_dim not in (0, encoder.dim):
        raise CheckpointError(f"{checkpoint}: the model takes {model.config.embed_dim}-d class vectors but its text "
                              f"encoder {ckpt.embedding_source!r} gives {encoder.dim}-d ones; the file does not come "
                              "from `zerolabel train` as it is, train it again")
    matrix = torch.from_numpy(encoder.embed(names[1:]))
    evaluator = Evaluator(names, unseen=dataset.unseen, setting=setting)  # calibrated here, by the one rule
    seen = [n for n in names[1:] if n not in set(dataset.unseen)]
    offsets = calibration_offsets(names[1:], seen, calibration, background_score=model.activation == "softmax")
    ids = dataset.ids(split)[:limit] if limit else dataset.ids(split)
    record = Preprocessing.for_model(model)
    for sample_id in ids:
        sample = dataset.sample(sample_id)
        probs = apply_calibration(class_probabilities(model, sample.image, matrix, record), offsets)
        evaluator.add_scores(probs, sample.label)
    result = evaluator.result()
    result["gamma"] = calibration
    result["checkpoint"] = str(Path(checkpoint))
    result["split"] = split
    return result
