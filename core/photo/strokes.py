"""Teach classes from a few strokes on one image (as ilastik and napari-convpaint do), Qt-free and torch-free.

The labeler paints strokes of a class (and, optionally, of what it is not); the feature vectors under the strokes
train a small multinomial logistic-regression head over ``[K, h, w]`` per-pixel features, which then scores any
image's features. Class 0 of the head is *other* (the negatives: background strokes and other classes' strokes),
so a pixel that looks like no taught class stays unlabelled.

The features come from the photo model's encoder (its feature output), or from :func:`effnet_features` (the
multi-scale EfficientNet-Lite0 maps plus smoothed colour) where no such output exists; a head remembers which
``extractor`` made its features and refuses others. Samples are kept (at most ``MAX_SAMPLES`` per class), so more
strokes on more images add to them and the head is refit; :meth:`StrokeHead.save` writes one ``.npz``.

Example:
    >>> feats = effnet_features(image)  # doctest: +SKIP
    >>> head = StrokeHead("effnet-lite0").add(feats, {"sky": sky_mask}, negatives=other_mask).fit()  # doctest: +SKIP
    >>> head.predict(effnet_features(other_image), other_image.shape[:2]).shape  # doctest: +SKIP
    (427, 640)
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from core.errors import ZerolabelError
from core.io.atomic import atomic_write_bytes

OTHER = "other"
MAX_SAMPLES = 4000
FORMAT = 1


class StrokeError(ZerolabelError):
    """Strokes, features or a saved stroke head that cannot be used."""


def _grid_indices(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Flat indices of the ``grid`` cells (h, w) that a boolean image-size ``mask`` touches."""
    h, w = grid
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return np.zeros(0, np.int64)
    gy = np.minimum((ys * h) // mask.shape[0], h - 1)
    gx = np.minimum((xs * w) // mask.shape[1], w - 1)
    return np.unique(gy * w + gx)


class StrokeHead:
    """Stroke samples per class and the logistic-regression head fitted on them.

    Args:
        extractor: Name of the feature extractor (saved; features of another extractor are refused).
        l2: Weight decay of the fit, on standardised features.
    """

    def __init__(self, extractor: str, l2: float = 0.1) -> None:
        self.extractor = extractor
        self.l2 = l2
        self.samples: dict[str, np.ndarray] = {}
        self.classes: list[str] = []
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.weight: np.ndarray | None = None  # [1 + C, K]
        self.bias: np.ndarray | None = None  # [1 + C]

    # -- samples --------------------------------------------------------------------------------------
    def add(self, features: np.ndarray, strokes: Mapping[str, np.ndarray], negatives: np.ndarray | None = None,
            seed: int = 0) -> StrokeHead:
        """Add the feature vectors under each class's stroke mask (image-size booleans) and under ``negatives``.

        Every class's strokes are also negatives of the other classes (the head is multinomial). Returns self.
        """
        if features.ndim != 3:
            raise StrokeError(f"features must be [K, h, w], got shape {features.shape}")
        k, h, w = features.shape
        flat = features.reshape(k, -1).T
        groups = dict(strokes)
        if negatives is not None:
            groups[OTHER] = negatives
        rng = np.random.default_rng(seed)
        for name, mask in groups.items():
            if not name.strip():
                raise StrokeError("a stroke class needs a name")
            idx = _grid_indices(np.asarray(mask, bool), (h, w))
            if idx.size == 0:
                continue
            new = flat[idx].astype(np.float32)
            old = self.samples.get(name)
            if old is not None and old.shape[1] != k:
                raise StrokeError(f"strokes of {name!r} were taken on {old.shape[1]}-dimensional features, these "
                                  f"have {k}; use the same model for every image of a stroke-taught class")
            both = new if old is None else np.concatenate([old, new])
            if len(both) > MAX_SAMPLES:
                both = both[np.sort(rng.choice(len(both), MAX_SAMPLES, replace=False))]
            self.samples[name] = both
        return self

    # -- fit ------------------------------------------------------------------------------------------
    def fit(self, steps: int = 150, lr: float = 0.1) -> StrokeHead:
        """Fit the head on every sample so far (full-batch Adam on the softmax cross-entropy, balanced)."""
        classes = [n for n in self.samples if n != OTHER]
        if not classes:
            raise StrokeError("no strokes of any class yet: paint a few strokes of the class first")
        groups = [self.samples.get(OTHER, np.zeros((0, self._dim()), np.float32))] + [self.samples[c]
                                                                                     for c in classes]
        if len(groups[0]) == 0 and len(classes) == 1:
            raise StrokeError(f"only strokes of {classes[0]!r}: paint a few strokes on what is not "
                              f"{classes[0]!r} too (background or another class)")
        x = np.concatenate(groups)
        y = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)])
        weights = np.concatenate([np.full(len(g), 1.0 / max(1, len(g)), np.float32) for g in groups])
        weights /= weights.sum()
        mean, std = x.mean(0), x.std(0) + np.float32(1e-4)
        z = ((x - mean) / std).astype(np.float32)
        c, k = len(groups), z.shape[1]
        onehot = np.eye(c, dtype=np.float32)[y]
        params = [np.zeros((c, k), np.float32), np.zeros(c, np.float32)]
        moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
        for t in range(1, steps + 1):
            logits = z @ params[0].T + params[1]
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            g = (p - onehot) * weights[:, None]
            grads = [g.T @ z + np.float32(self.l2) * params[0], g.sum(0)]
            for param, grad, m in zip(params, grads, moments, strict=True):
                m[0] = 0.9 * m[0] + 0.1 * grad
                m[1] = 0.999 * m[1] + 0.001 * grad * grad
                param -= np.float32(lr / (1 - 0.9**t)) * m[0] / (np.sqrt(m[1] / np.float32(1 - 0.999**t)) + 1e-8)
        self.classes = classes
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        self.weight, self.bias = params
        return self

    def _dim(self) -> int:
        return next(iter(self.samples.values())).shape[1]

    # -- apply ----------------------------------------------------------------------------------------
    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """``[1 + C, h, w]`` probabilities at the features' grid: other first, then :attr:`classes`."""
        if self.weight is None:
            raise StrokeError("the stroke head is not fitted yet: call fit() after adding strokes")
        k, h, w = features.shape
        if k != self.weight.shape[1]:
            raise StrokeError(f"these features have {k} channels, the stroke head was fitted on "
                              f"{self.weight.shape[1]}; use the features of the {self.extractor!r} extractor")
        z = (features.reshape(k, -1).T - self.mean) / self.std
        logits = z @ self.weight.T + self.bias
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return p.T.reshape(-1, h, w).astype(np.float32)

    def predict(self, features: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """uint8 labels ``[H, W]`` at ``size``: 0 = other, i = ``classes[i - 1]``."""
        probs = self.probabilities(features)
        up = np.stack([cv2.resize(p, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for p in probs])
        return up.argmax(0).astype(np.uint8)

    # -- storage --------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT, "extractor": self.extractor, "l2": self.l2, "classes": self.classes,
                "sampled": list(self.samples)}
        arrays = {f"samples_{i}": s for i, s in enumerate(self.samples.values())}
        if self.weight is not None:
            arrays.update(mean=self.mean, std=self.std, weight=self.weight, bias=self.bias)
        buf = io.BytesIO()
        np.savez_compressed(buf, meta=np.array(json.dumps(meta)), **arrays)
        return buf.getvalue()

    def save(self, path: str | os.PathLike) -> None:
        """Write the samples and the fitted head to one ``.npz`` file, atomically."""
        atomic_write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike) -> StrokeHead:
        """Read a file written by :meth:`save`; a damaged or foreign file is a :class:`StrokeError`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT:
                    raise StrokeError(f"{path}: stroke head format {meta.get('format')!r} is not {FORMAT}")
                head = cls(str(meta["extractor"]), float(meta["l2"]))
                head.samples = {n: data[f"samples_{i}"] for i, n in enumerate(meta["sampled"])}
                head.classes = list(meta["classes"])
                if "weight" in data:
                    head.mean, head.std = data["mean"], data["std"]
                    head.weight, head.bias = data["weight"], data["bias"]
        except StrokeError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StrokeError(f"{path}: not a readable stroke head ({exc}); paint the strokes again") from exc
        return head


def effnet_features(image: np.ndarray, long_side: int = 512, stride: int = 4) -> np.ndarray:
    """``[K, h, w]`` per-pixel features of an RGB uint8 image at 1/``stride`` of ``long_side``: EfficientNet-Lite0's
    maps at strides 4-32 (ImageNet weights, upsampled bilinearly, each L2-normalised over channels) and smoothed
    CIELAB colour. Needs torch (the training / bench side); the app uses its model's encoder output instead."""
    import torch
    from torch.nn import functional as F

    from core.models.backbones import effnet_lite0_classifier
    from core.models.base import IMAGENET_MEAN, IMAGENET_STD

    global _NET
    if _NET is None:
        _NET = effnet_lite0_classifier().backbone.eval()
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    size = (max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x = (resized.astype(np.float32) / 255 - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    grid = (size[1] // stride, size[0] // stride)
    with torch.no_grad():
        maps = _NET(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))[1:]
        maps = [F.normalize(F.interpolate(m, size=grid, mode="bilinear", align_corners=False), dim=1) for m in maps]
        feats = torch.cat(maps, 1)[0].numpy()
    lab = cv2.cvtColor(cv2.resize(resized, (grid[1], grid[0]), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2LAB)
    colour = [cv2.GaussianBlur(lab.astype(np.float32) / 255, (0, 0), s).transpose(2, 0, 1) for s in (1.0, 3.0)]
    return np.concatenate([feats, *colour]).astype(np.float32)


_NET = None
