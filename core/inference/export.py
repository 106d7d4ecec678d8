"""``zerolabel export-onnx RUN --out DIR``: the encoder and the scorer as separate ONNX graphs + a manifest.

* ``encoder.onnx``: ``image [B, 3, H, W]`` (ImageNet-normalised) -> features ``f0..fN`` (dynamic B, H, W).
* ``scorer.onnx``: features + class inputs -> ``logits [B, C, h, w]`` (dynamic B and C), plus
  ``background [B, 1, h, w]`` for softmax methods. Class inputs: ``classes [C, D]`` unit embeddings, or for
  ZS3Net ``weight [C, K]`` + ``bias [C]`` classifier rows looked up in ``bank_*.npy`` by the runtime.
* ``manifest.json``: method, activation, threshold, the preprocessing record (``preprocessing``: input size, resize
  rule, mean/std; older manifests without it get the same rule from ``input_size``/``mean``/``std``), seen/unseen
  classes, text encoder.

The runtime (:mod:`core.inference.runtime`) upsamples logits to the image size and applies the activation, as
:func:`core.models.base.predict_probabilities` does, so ONNX and torch predictions agree.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.inference.preprocess import Preprocessing
from core.io.atomic import atomic_write_bytes, atomic_write_text
from core.models import load_checkpoint
from core.models.base import IMAGENET_MEAN, IMAGENET_STD, Segmenter

FORMAT = "zerolabel-onnx"
VERSION = 1
OPSET = 17


class _Encoder(nn.Module):
    def __init__(self, model: Segmenter) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor):
        return self.model.encode(image)


class _Scorer(nn.Module):
    def __init__(self, model: Segmenter) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor):
        *features, classes = inputs
        features = tuple(features)
        logits = self.model.score(features, classes)
        if self.model.activation == "softmax":
            return logits, self.model.background_score(features)
        return logits


class _RowScorer(nn.Module):
    """ZS3Net: the 1x1 classifier with its rows as inputs (the bank lookup happens in the runtime)."""

    def __init__(self, model: Segmenter) -> None:
        super().__init__()
        self.model = model

    def forward(self, feature: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
        logits = torch.einsum("bkhw,ck->bchw", feature, weight) + bias[None, :, None, None]
        return logits, self.model.background_score((feature,))


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)


def export_onnx(run: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Export the checkpoint of ``run`` (folder -> best.pt, or a file) to ``out``; returns the manifest path.

    Example:
        >>> export_onnx("runs/rn", "models/rn-onnx")  # doctest: +SKIP
    """
    run = Path(run)
    path = run / "best.pt" if run.is_dir() else run
    model, ckpt = load_checkpoint(path)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = model.config.image_size
    image = torch.randn(1, 3, size, size)
    with torch.no_grad():
        features = model.encode(image)
    names = [f"f{i}" for i in range(len(features))]
    feature_axes = {n: {0: "batch", 2: f"{n}_h", 3: f"{n}_w"} for n in names}
    _export(_Encoder(model), (image,), out / "encoder.onnx", ["image"], names,
            {"image": {0: "batch", 2: "height", 3: "width"}, **feature_axes})
    softmax = model.activation == "softmax"
    outputs = ["logits", "background"] if softmax else ["logits"]
    out_axes = {"logits": {0: "batch", 1: "classes", 2: "h", 3: "w"}, "background": {0: "batch", 2: "h", 3: "w"}}
    manifest: dict = {
        "format": FORMAT, "version": VERSION, "method": model.config.method,
        "activation": model.activation, "threshold": model.threshold, "input_size": size,
        "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "features": names,
        "text_encoder": ckpt.embedding_source, "embed_dim": model.config.embed_dim,
        "seen_classes": list(ckpt.seen_classes), "split": ckpt.split,
        "encoder": "encoder.onnx", "scorer": "scorer.onnx", "checkpoint": path.name,
        "preprocessing": Preprocessing.for_model(model).as_dict(),
    }
    if hasattr(model, "set_bank"):
        k = model.weight.shape[1]
        rows = (torch.zeros(2, k), torch.zeros(2))
        _export(_RowScorer(model), (features[0], *rows), out / "scorer.onnx", ["f0", "weight", "bias"], outputs,
                {**feature_axes, "weight": {0: "classes"}, "bias": {0: "classes"},
                 **{o: out_axes[o] for o in outputs}})
        for name, value in (("embeddings", model.class_embeddings), ("weight", model.weight), ("bias", model.bias)):
            buffer = _npy(value.detach().float().numpy())
            atomic_write_bytes(out / f"bank_{name}.npy", buffer)
        manifest["scorer_inputs"] = "rows"
        manifest["bank"] = {"embeddings": "bank_embeddings.npy", "weight": "bank_weight.npy", "bias": "bank_bias.npy"}
    else:
        classes = torch.nn.functional.normalize(torch.randn(3, max(1, model.config.embed_dim)), dim=1)
        _export(_Scorer(model), (*features, classes), out / "scorer.onnx", [*names, "classes"], outputs,
                {**feature_axes, "classes": {0: "classes"}, **{o: out_axes[o] for o in outputs}})
        manifest["scorer_inputs"] = "embeddings"
    target = out / "manifest.json"
    atomic_write_text(target, json.dumps(manifest, indent=2) + "\n")
    return target


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
