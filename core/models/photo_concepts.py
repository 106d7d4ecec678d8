"""``imagenet-concepts``: the dense ImageNet-knowledge method for real photographs (no training).

EfficientNet-Lite0's ImageNet classifier applied densely gives per-pixel probabilities of 1,000 concepts (the
features); a class name is a weighting of concepts (text encoder ``imagenet-concepts``: WordNet descendants, then
text-near concepts); the score is the class's concept mass, calibrated so a sigmoid of it is 0.5 at the same mass on
every image, and snapped to the image's edges by a guided filter. Details in :mod:`core.photo.concepts`.

Example:
    >>> from core.models import build_model  # doctest: +SKIP
    >>> model = build_model(photo_config())  # doctest: +SKIP
"""

from __future__ import annotations

import torch

from core.models.base import Features, ModelConfig, Segmenter, register_model

#: Short side, in pixels, the runtime resizes a photo to before the encoder.
INPUT_SIZE = 448
#: Encoder and scorer settings (see :class:`core.photo.concepts.ConceptEncoder` / ``ConceptScorer``).
DEFAULTS = {"scales": [1.0, 0.5], "context": 0.3, "temperature": 1.0, "threshold": 0.15, "radius": 24, "eps": 1e-2}


def photo_config(**options: object) -> ModelConfig:
    """The shipped photo model's config, with ``options`` overriding :data:`DEFAULTS`."""
    return ModelConfig(method="imagenet-concepts", backbone="effnet-lite0", embed_dim=1000, pretrained=True,
                       image_size=INPUT_SIZE, options={**DEFAULTS, **options})


class ConceptSegmenter(Segmenter):
    """Features ``(concepts, strokes, guide)``; ``score`` uses ``concepts`` and ``guide``."""

    activation = "sigmoid"
    threshold = 0.5

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        from core.photo.concepts import build_encoder_scorer

        options = {**DEFAULTS, **config.options}
        options["scales"] = tuple(options["scales"])
        self.encoder, self.scorer = build_encoder_scorer(**options)

    def encode(self, images: torch.Tensor) -> Features:
        return self.encoder(images)

    def score(self, features: Features, class_embeddings: torch.Tensor) -> torch.Tensor:
        concepts, _strokes, guide = features
        return self.scorer(concepts, guide, class_embeddings)


@register_model("imagenet-concepts")
def _build(config: ModelConfig) -> Segmenter:
    if config.embed_dim != 1000:
        raise ValueError(f"imagenet-concepts scores 1000 ImageNet concepts; embed_dim is {config.embed_dim}")
    return ConceptSegmenter(config).eval()
