"""DeViSE baseline of the ZS3Net paper (Sec. 3.1, after Frome et al., NeurIPS 2013) for segmentation.

DeepLabv3+ features -> 1x1 projection -> a D-dimensional embedding per pixel, L2-normalised. Training
regresses it onto the target class embedding (``1 - cosine``,
``training.losses.cosine_regression_loss``, which reads the cosine back as ``logit / model.scale``); at
prediction time a pixel takes the class whose embedding is nearest in cosine. Scores are
``scale * cos(pixel, a_c)`` in ``[-scale, scale]`` (fixed ``scale``, ``options["scale"]``, default 10) so
that a softmax over classes is meaningful.

Background: like SPNet here, a learned vector in the embedding space (normalised), not the word "background".

Example:
    >>> from core.models import build_model
    >>> model = build_model(ModelConfig("devise", "tiny", embed_dim=50, image_size=64))
    >>> feats = model.encode(torch.zeros(1, 3, 64, 64))
    >>> bool(model.score(feats, torch.eye(50)[:3]).abs().max() <= model.scale + 1e-4)
    True
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from core.models.base import ModelConfig, Segmenter, register_model
from core.models.embedding import EmbeddingSegmenter


class DeViSE(EmbeddingSegmenter):
    """Unit-length pixel embeddings scored by ``scale * cosine`` against the class embeddings.

    Example:
        >>> model = DeViSE(ModelConfig("devise", "tiny", embed_dim=50, options={"scale": 5.0}))
        >>> model.scale
        5.0
    """

    normalise = True
    learn_scale = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        #: Fixed factor on the cosines (``training.losses.cosine_regression_loss`` divides by it).
        self.scale = float(config.options.get("scale", 10.0))

    def logit_scale(self) -> float:
        return self.scale

    def class_matrix(self, class_embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(class_embeddings.to(self.background.dtype), dim=1)

    def background_vector(self) -> torch.Tensor:
        return F.normalize(self.background, dim=0)


@register_model("devise")
def build_devise(config: ModelConfig) -> Segmenter:
    """Registry builder of ``devise``."""
    return DeViSE(config)
