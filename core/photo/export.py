"""Export the photo model to an ONNX model folder the runtime (:mod:`core.inference.runtime`) loads unchanged.

``python -m core.photo.export --out resources/photo_model`` writes ``encoder.onnx``, ``scorer.onnx`` and
``manifest.json`` (text encoder ``imagenet-concepts``, sigmoid activation, threshold 0.5). Needs torch; the app and
``zerolabel predict`` only read the folder.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from core.inference.export import FORMAT, OPSET, VERSION
from core.io.atomic import atomic_write_text
from core.models import build_model
from core.models.base import IMAGENET_MEAN, IMAGENET_STD
from core.models.photo_concepts import ConceptSegmenter, photo_config

FEATURES = ["concepts", "strokes", "guide"]


class _Scorer(nn.Module):
    def __init__(self, model: ConceptSegmenter) -> None:
        super().__init__()
        self.scorer = model.scorer

    def forward(self, concepts: torch.Tensor, guide: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        return self.scorer(concepts, guide, classes)


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)


def export_photo_model(out: str | os.PathLike, *, neighbours: bool = False, **options: object) -> Path:
    """Write the photo model folder to ``out``; returns the manifest path. ``neighbours``: also rewrite the
    shipped classifier-neighbour file (``resources/wordnet/concept_neighbours.npz``) from the weights.

    Example:
        >>> export_photo_model("/tmp/photo_model")  # doctest: +SKIP
    """
    config = photo_config(**options)
    model = build_model(config)
    if neighbours:
        from core.photo.names import build_neighbours

        build_neighbours(model.encoder.dense.net._fc.weight.detach().double().numpy())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    image = torch.randn(1, 3, 97, 131)  # odd sizes: the graphs must not bake in an even-size padding
    with torch.no_grad():
        features = model.encode(image)
    axes = {n: {0: "batch", 2: f"{n}_h", 3: f"{n}_w"} for n in FEATURES}
    _export(model.encoder, (image,), out / "encoder.onnx", ["image"], FEATURES,
            {"image": {0: "batch", 2: "height", 3: "width"}, **axes})
    classes = torch.nn.functional.normalize(torch.rand(3, 1000), dim=1)
    _export(_Scorer(model), (features[0], features[2], classes), out / "scorer.onnx",
            ["concepts", "guide", "classes"], ["logits"],
            {"concepts": axes["concepts"], "guide": axes["guide"], "classes": {0: "classes"},
             "logits": {0: "batch", 1: "classes", 2: "h", 3: "w"}})
    manifest = {
        "format": FORMAT, "version": VERSION, "method": config.method, "name": "photos (ImageNet concepts)",
        "activation": model.activation, "threshold": model.threshold, "input_size": config.image_size,
        "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "features": FEATURES,
        "text_encoder": "imagenet-concepts", "embed_dim": config.embed_dim, "seen_classes": [], "split": None,
        "preprocessing": {"input_size": config.image_size, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
                          "resize": "short-side", "max_side_factor": 4},
        "encoder": "encoder.onnx", "scorer": "scorer.onnx", "scorer_inputs": "embeddings",
        "options": dict(config.options),
        # post-process for runtimes that know it (core.photo.grabcut.grabcut_logits on the scorer's logits)
        "refine": "grabcut",
        "outputs": {
            "concepts": "float32 [1, 1000, ceil(H/16), ceil(W/16)]: ImageNet concept probabilities per position",
            "strokes": "float32 [1, 472, ceil(H/8), ceil(W/8)]: unit-length multi-scale features for stroke teaching",
            "guide": "float32 [1, 12, ceil(H/2), ceil(W/2)]: 0-2 the input in RGB [0, 1] at half size (edge guide), "
                     "3-11 its guided-filter statistics (window colour means, inverse covariance)",
            "logits": "float32 [1, C, ceil(H/2), ceil(W/2)]: log(concept mass / options.threshold)",
        },
    }
    target = out / "manifest.json"
    atomic_write_text(target, json.dumps(manifest, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export the ImageNet-concepts photo model to ONNX.")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    print(export_photo_model(args.out, neighbours=True))


if __name__ == "__main__":
    main()
