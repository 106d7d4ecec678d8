"""The preprocessing record stored with a model, and the one function that applies it.

``zerolabel eval``, ``zerolabel predict`` and the app all call :func:`preprocess` with the model's record (the
ONNX manifest's ``preprocessing`` entry, or :meth:`Preprocessing.for_model` for a checkpoint), as torchvision's
weight presets carry their transforms: short side resized to ``input_size`` (long side capped at
``max_side_factor`` times it), area interpolation when shrinking and bilinear when enlarging, then
``(x / 255 - mean) / std``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

RESIZE = "short-side"
MAX_SIDE_FACTOR = 4


@dataclass(frozen=True)
class Preprocessing:
    """How an RGB uint8 image becomes the encoder's input."""

    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str = RESIZE
    max_side_factor: float = MAX_SIDE_FACTOR

    @classmethod
    def from_manifest(cls, manifest: dict) -> Preprocessing:
        """The manifest's record; manifests written before it existed get the same rule from their old keys."""
        record = manifest.get("preprocessing") or {}
        return cls(int(record.get("input_size", manifest["input_size"])),
                   tuple(float(v) for v in record.get("mean", manifest["mean"])),
                   tuple(float(v) for v in record.get("std", manifest["std"])),
                   str(record.get("resize", RESIZE)), float(record.get("max_side_factor", MAX_SIDE_FACTOR)))

    @classmethod
    def for_model(cls, model) -> Preprocessing:
        """The record of a torch :class:`~core.models.base.Segmenter` (its config's image size, ImageNet stats)."""
        from core.models.base import IMAGENET_MEAN, IMAGENET_STD

        return cls(int(model.config.image_size), tuple(IMAGENET_MEAN), tuple(IMAGENET_STD))

    def as_dict(self) -> dict:
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std)}

    def scale(self, height: int, width: int) -> float:
        """The resize factor for an image of ``height`` x ``width``."""
        scale = self.input_size / min(height, width)
        if max(height, width) * scale > self.max_side_factor * self.input_size:
            scale = self.max_side_factor * self.input_size / max(height, width)
        return scale

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)`` the encoder sees for an image of ``height`` x ``width``."""
        scale = self.scale(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))


def preprocess(image: np.ndarray, record: Preprocessing) -> np.ndarray:
    """uint8 RGB ``[H, W, 3]`` -> float32 ``[1, 3, h, w]`` normalised, as the model was trained."""
    h, w = image.shape[:2]
    nh, nw = record.working_size(h, w)
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if record.scale(h, w) < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (nw, nh), interpolation=interp)
    mean = np.asarray(record.mean, np.float32) * 255
    std = np.asarray(record.std, np.float32) * 255
    x = (image.astype(np.float32) - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
