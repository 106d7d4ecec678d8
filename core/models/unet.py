"""U-Net with no word embeddings: the RN paper's binary baseline (Table II, "No word embeddings").

The same encoder and U-Net decoder as the Relation Network (:mod:`core.models.relation`) with the word module
removed: it predicts one class-agnostic foreground logit map per image. It takes no class embeddings, so
``score(features, E)`` returns that same map for every one of the C requested classes (``[B, C, h, w]``; the
embeddings' values and dimension are ignored). It is a class-agnostic baseline: in a binary task (one target
class per image, as on CUB) it segments "the object"; in a multi-class evaluation it cannot tell classes apart
(every class gets the same score, so argmax picks the first), which is the point of the baseline: the gap to
``rn`` is what the word embeddings add.
"""

from __future__ import annotations

import torch

from core.models.base import Features, ModelConfig, Segmenter, register_model
from core.models.relation import RelationNet


class UNetBaseline(RelationNet):
    """Class-agnostic U-Net: one decoder pass per image, the foreground logit repeated for each class."""

    uses_words = False

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Features + ``[C, D]`` (any D) -> foreground logit ``[B, 1, h, w]`` expanded to ``[B, C, h, w]``.

        Example:
            >>> model = build_unet(ModelConfig("unet", "tiny", embed_dim=0)).eval()
            >>> model.score(model.encode(torch.zeros(1, 3, 64, 64)), torch.zeros(4, 50)).shape
            torch.Size([1, 4, 16, 16])
        """
        self._check(class_embeddings)
        if class_embeddings.shape[0] == 0:
            return self._empty(features)
        out = self._decode(features, None)  # [B, 1, h, w]
        return out.expand(-1, class_embeddings.shape[0], -1, -1)

    def foreground(self, features: Features) -> torch.Tensor:
        """The class-agnostic foreground logit ``[B, 1, h, w]``."""
        return self._decode(features, None)

    def naive_score(self, images: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("the U-Net baseline has no per-class relation to factorise")


@register_model("unet")
def build_unet(config: ModelConfig) -> Segmenter:
    """U-Net baseline (``options`` as ``rn``'s: head, width, fine_width; no word options apply)."""
    return UNetBaseline(config)
