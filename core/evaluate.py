"""Evaluate a checkpoint on a dataset split under the zero-shot protocol (ZLSS or GZLSS), as in the papers.

Predictions are made at the model's resolution and upsampled to each label's own size, so the metrics count
every ground-truth pixel.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from core.data.base import SegDataset
from core.data.open import is_layout, open_dataset
from core.embeddings import build_encoder
from core.metrics import Evaluator
from core.models import load_checkpoint
from core.models.base import IMAGENET_MEAN, IMAGENET_STD, Segmenter, predict_probabilities
from core.models.checkpoint import CheckpointError

_MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
_STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def preprocess(image: np.ndarray, size: int) -> torch.Tensor:
    """uint8 ``[H, W, 3]`` -> normalised ``[1, 3, size', size'']`` with the short side at ``size``."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255
    h, w = image.shape[:2]
    scale = size / min(h, w)
    if scale != 1:
        x = F.interpolate(x, size=(round(h * scale), round(w * scale)), mode="bilinear", align_corners=False)
    return (x - _MEAN) / _STD


@torch.no_grad()
def class_probabilities(model: Segmenter, image: np.ndarray, class_matrix: torch.Tensor, size: int) -> np.ndarray:
    """``[1 + C, H, W]`` probabilities (background first) at the image's own size."""
    feats = model.encode(preprocess(image, size))
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
    evaluator = Evaluator(names, unseen=dataset.unseen, setting=setting, gamma=calibration)
    ids = dataset.ids(split)[:limit] if limit else dataset.ids(split)
    size = model.config.image_size
    for sample_id in ids:
        sample = dataset.sample(sample_id)
        evaluator.add_scores(class_probabilities(model, sample.image, matrix, size), sample.label)
    result = evaluator.result()
    result["checkpoint"] = str(Path(checkpoint))
    result["split"] = split
    return result
