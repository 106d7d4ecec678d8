"""SPNet (Xian et al., CVPR 2019) and the DeViSE baseline (ZS3Net paper): a visual-semantic embedding per pixel.

Both use DeepLabv3+ features projected by a 1x1 convolution into the class-embedding space D.

* ``spnet``: scores are dot products with the fixed, unit-length class embeddings (SPNet's semantic projection),
  trained with cross-entropy over background + seen classes. SPNet-C is SPNet with a calibration gamma subtracted
  from seen-class scores at test time (``--calibration``), not a different model.
* ``devise``: the pixel embedding is L2-normalised and regressed onto the target class embedding (cosine loss,
  ``training.losses.cosine_regression_loss``); classification is by cosine similarity (times a fixed scale, so a
  softmax over classes is meaningful).

Background: SPNet embeds the word "background"; here it is a learned vector in the same space, because on our data
"background" is not a visual concept a word vector describes (README: where we differ).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.models.backbones import build_backbone
from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.deeplab import DeepLabV3Plus, head_width


class EmbeddingSegmenter(Segmenter):
    """DeepLabv3+ -> 1x1 -> D-dimensional pixel embeddings; class scores against class embeddings."""

    activation = "softmax"
    normalise = False
    scale = 1.0

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        if config.embed_dim <= 0:
            raise ValueError(f"{config.method} needs class embeddings (embed_dim > 0)")
        backbone = build_backbone(config.backbone, pretrained=config.pretrained)
        self.head = DeepLabV3Plus(backbone, head_width(config.backbone, config.options))
        self.project = nn.Conv2d(self.head.feature_dim, config.embed_dim, 1)
        self.background = nn.Parameter(F.normalize(torch.randn(config.embed_dim), dim=0))
        self.log_scale = nn.Parameter(torch.tensor(float(config.options.get("init_log_scale", 2.3))))

    def encode(self, images: torch.Tensor) -> Features:
        emb = self.project(self.head(images))
        return (F.normalize(emb, dim=1) if self.normalise else emb,)

    def pixel_embeddings(self, features: Features) -> torch.Tensor:
        return features[0]

    def _scale(self) -> torch.Tensor:
        return self.log_scale.exp() if not self.normalise else torch.tensor(self.scale)

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bdhw,cd->bchw", features[0], class_embeddings) * self._scale()

    def background_score(self, features: Features) -> torch.Tensor:
        bg = F.normalize(self.background, dim=0) if self.normalise else self.background
        return torch.einsum("bdhw,d->bhw", features[0], bg)[:, None] * self._scale()


class DeViSE(EmbeddingSegmenter):
    normalise = True
    scale = 10.0


@register_model("spnet")
def build_spnet(config: ModelConfig) -> Segmenter:
    return EmbeddingSegmenter(config)


@register_model("devise")
def build_devise(config: ModelConfig) -> Segmenter:
    return DeViSE(config)
