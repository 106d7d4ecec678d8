"""U-Net with no word embeddings: the RN paper's binary baseline.

The same encoder and decoder as the Relation Network, with the per-class word term removed: it predicts one
class-agnostic foreground map and returns it for every requested class. In a multi-class evaluation it cannot
tell classes apart — which is exactly what the baseline shows (how much the word embeddings add).
"""

from __future__ import annotations

import torch

from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.relation import RelationNet


class UNetBaseline(RelationNet):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__(ModelConfig(config.method, config.backbone, 1, config.pretrained, config.image_size,
                                     dict(config.options)))
        self.config = config
        del self.word

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        b, c = features[0].shape[0], class_embeddings.shape[0]

        def first(level: int):
            def run(h: torch.Tensor | None) -> torch.Tensor:
                x = features[level]
                if h is not None:
                    up = torch.nn.functional.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
                    x = x + self.up_convs[level - 1](up)
                return x

            return run

        out = self._decode([first(i) for i in range(len(features))])  # [B, 1, h, w]
        return out.expand(b, c, *out.shape[-2:])


@register_model("unet")
def build_unet(config: ModelConfig) -> Segmenter:
    return UNetBaseline(config)
