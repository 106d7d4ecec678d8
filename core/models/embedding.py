"""The shared body of SPNet and DeViSE: pixels projected into the class-embedding space, scored by dot products.

:mod:`core.models.spnet` and :mod:`core.models.devise` each subclass :class:`EmbeddingSegmenter`; neither imports
the other.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.models.base import Features, ModelConfig, Segmenter
from core.models.deeplab import embedding_head


class EmbeddingSegmenter(Segmenter):
    """DeepLabv3+ -> 1x1 -> D-dimensional pixel embeddings, scored by dot products with class embeddings.

    ``encode`` returns ``(pixel_embeddings [B, D, h, w],)``: scoring C classes is one ``[C, D]``
    contraction, so typing a new class name never re-runs the encoder.

    Example:
        >>> from core.models import build_model
        >>> model = build_model(ModelConfig("spnet", "tiny", embed_dim=50, image_size=64))
        >>> feats = model.encode(torch.zeros(1, 3, 64, 64))
        >>> model.score(feats, F.normalize(torch.randn(3, 50), dim=1)).shape
        torch.Size([1, 3, 16, 16])
    """

    activation = "softmax"
    #: L2-normalise the pixel embedding (DeViSE) or not (SPNet).
    normalise = False
    #: Learn the logit scale (SPNet's temperature); DeViSE uses a fixed ``scale`` and has no such parameter.
    learn_scale = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.head = embedding_head(config)
        self.project = nn.Conv2d(self.head.feature_dim, config.embed_dim, 1)
        self.background = nn.Parameter(F.normalize(torch.randn(config.embed_dim), dim=0))
        if self.learn_scale:
            self.log_scale = nn.Parameter(torch.tensor(float(config.options.get("init_log_scale", 2.3))),
                                          requires_grad=bool(config.options.get("learn_scale", True)))

    def encode(self, images: torch.Tensor) -> Features:
        """ImageNet-normalised ``[B, 3, H, W]`` -> ``(pixel embeddings [B, D, H/4, W/4],)``."""
        emb = self.project(self.head(images))
        return (F.normalize(emb, dim=1) if self.normalise else emb,)

    def pixel_embeddings(self, features: Features) -> torch.Tensor:
        """The per-pixel embedding ``[B, D, h, w]`` (unit length for DeViSE), e.g. for a regression loss."""
        return features[0]

    def logit_scale(self) -> torch.Tensor | float:
        """The factor applied to the dot products (a learnable temperature for SPNet)."""
        return self.log_scale.exp()

    def class_matrix(self, class_embeddings: torch.Tensor) -> torch.Tensor:
        """The ``[C, D]`` matrix the pixels are scored against (SPNet: as given, unit length by contract)."""
        return class_embeddings.to(self.background.dtype)

    def background_vector(self) -> torch.Tensor:
        """The learned background embedding ``[D]``."""
        return self.background

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        """``scale * <pixel, a_c>`` for each class c: logits ``[B, C, h, w]``."""
        emb = self.pixel_embeddings(features)
        return torch.einsum("bdhw,cd->bchw", emb, self.class_matrix(class_embeddings)) * self.logit_scale()

    def background_score(self, features: Features) -> torch.Tensor:
        """``scale * <pixel, b>`` with the learned background vector b: ``[B, 1, h, w]``."""
        emb = self.pixel_embeddings(features)
        return torch.einsum("bdhw,d->bhw", emb, self.background_vector())[:, None] * self.logit_scale()
