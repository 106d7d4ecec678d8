"""The ``Segmenter`` contract: encode an image batch once, score any number of classes against it.

Every zero-shot method (Relation Network, U-Net baseline, SPNet, DeViSE, ZS3Net, ZS5Net) is a ``Segmenter``:

* ``encode(images)`` runs the expensive image encoder once and returns a tuple of feature tensors
  (the app caches it per image);
* ``score(features, class_embeddings)`` returns raw logits ``[B, C, H, W]`` for C classes given as unit-length
  class embeddings ``[C, D]``; its cost per class must stay far below one encoder pass;
* ``background_score(features)`` returns the background logit ``[B, 1, H, W]`` for ``activation == "softmax"``
  methods (background competes as a class) and ``None`` for ``"sigmoid"`` methods, where background is
  "no class scores at least ``threshold``" (RN paper: 0.5).

Scores come out at the feature resolution; :func:`predict_probabilities` upsamples them to the input size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

Features = tuple[torch.Tensor, ...]
Activation = Literal["sigmoid", "softmax"]

#: ImageNet normalisation used by every backbone (torchvision and timm weights).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored in checkpoints and ONNX manifests.

    Attributes:
        method: registry name (``rn``, ``unet``, ``spnet``, ``devise``, ``zs3net``, ``zs3net-gc``).
        backbone: ``tiny``, ``effnet-lite0``, ``vgg16`` or ``resnet101``.
        embed_dim: dimension D of the class embeddings the model consumes (0 for ``unet``).
        pretrained: load ImageNet weights for the backbone when available offline.
        image_size: square training / inference resolution in pixels.
        options: method-specific settings (e.g. ``{"word_module": "cnn"}``), JSON-serialisable.
    """

    method: str
    backbone: str = "tiny"
    embed_dim: int = 50
    pretrained: bool = False
    image_size: int = 96
    options: dict = field(default_factory=dict)


class Segmenter(nn.Module):
    """Base class of every zero-shot segmenter (see the module docstring for the contract)."""

    activation: Activation = "sigmoid"
    #: Sigmoid models: a pixel is background when its best class probability is below this.
    threshold: float = 0.5

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        #: Names of the classes seen in training (calibration subtracts gamma from their probabilities).
        self.seen_classes: list[str] = []

    def encode(self, images: torch.Tensor) -> Features:  # pragma: no cover - abstract
        """ImageNet-normalised ``[B, 3, H, W]`` -> features (expensive, once per image)."""
        raise NotImplementedError

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Features + ``[C, D]`` class embeddings -> logits ``[B, C, h, w]`` (cheap, per class set)."""
        raise NotImplementedError

    def background_score(self, features: Features) -> torch.Tensor | None:
        """Background logit ``[B, 1, h, w]`` for softmax methods, ``None`` for sigmoid ones."""
        return None

    def forward(self, images: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Training convenience: ``score(encode(images), class_embeddings)``."""
        return self.score(self.encode(images), class_embeddings)


def predict_probabilities(
    model: Segmenter,
    features: Features,
    class_embeddings: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """Per-class probabilities ``[B, 1 + C, H, W]`` at ``size``; channel 0 is background.

    Sigmoid models: background probability is ``1 - max_c p_c`` clipped so argmax gives background exactly when
    no class reaches ``model.threshold``. Softmax models: softmax over ``[background, classes]``.
    """
    logits = model.score(features, class_embeddings)
    if logits.shape[1] == 0:  # no class: interpolate refuses empty tensors
        logits = logits.new_zeros(logits.shape[0], 0, *size)
    else:
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    if model.activation == "softmax":
        bg = model.background_score(features)
        if bg is None:
            raise TypeError(f"{type(model).__name__} is a softmax model without a background score")
        bg = F.interpolate(bg, size=size, mode="bilinear", align_corners=False)
        return torch.softmax(torch.cat([bg, logits], dim=1), dim=1)
    probs = torch.sigmoid(logits)
    best = probs.max(dim=1, keepdim=True).values if probs.shape[1] else probs.new_zeros(probs.shape[0], 1, *size)
    # background wins the argmax iff best < threshold: give it a value just above / below best accordingly.
    bg = torch.where(best < model.threshold, torch.ones_like(best), torch.zeros_like(best))
    return torch.cat([bg, probs], dim=1)


Builder = Callable[[ModelConfig], Segmenter]
_REGISTRY: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator adding a builder to the model registry; refuses duplicate names.

    Example:
        >>> @register_model("my-method")  # doctest: +SKIP
        ... def build(config: ModelConfig) -> Segmenter: ...
    """

    def add(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"the model {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return add


def model_names() -> list[str]:
    """The registered method names."""
    _load_builtin_models()
    return sorted(_REGISTRY)


def build_model(config: ModelConfig) -> Segmenter:
    """Build the segmenter ``config.method`` names.

    Raises:
        ValueError: unknown method, listing the known ones.
    """
    _load_builtin_models()
    try:
        builder = _REGISTRY[config.method]
    except KeyError:
        raise ValueError(
            f"unknown method {config.method!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None
    return builder(config)


def _load_builtin_models() -> None:
    """Import the modules whose ``@register_model`` decorators fill the registry (once)."""
    import importlib

    for module in BUILTIN_MODULES:
        importlib.import_module(module)


#: Modules that register the built-in methods.
BUILTIN_MODULES: Sequence[str] = (
    "core.models.relation",
    "core.models.unet",
    "core.models.spnet",
    "core.models.zs3net",
    "core.models.photo_concepts",
)
