"""SPNet (Xian et al., CVPR 2019): a semantic projection per pixel, scored against fixed class embeddings.

DeepLabv3+ features ``F [B, K, h, w]`` are projected by a 1x1 convolution into the class-embedding space
D; the logit of class c at a pixel is ``scale * <projected pixel, a_c>`` with ``a_c`` the fixed, unit-length
class embedding (the ``[C, D]`` matrix ``score`` receives). ``scale`` is a learnable temperature
(``exp(log_scale)``, initialised at ``exp(options["init_log_scale"])``, default ~10;
``options["learn_scale"] = False`` freezes it). Training is cross-entropy over background + seen classes
(``training.losses.softmax_loss``).

Background: SPNet embeds the *word* "background"; here it is a learned vector ``b`` in the same space (logit
``scale * <projected pixel, b>``), because on our data "background" is not a visual concept that a word
vector describes (README: where we differ).

SPNet-C is SPNet with a calibration gamma subtracted from seen-class probabilities at prediction time
(:func:`core.metrics.zeroshot.calibrate`, using ``model.seen_classes``), not a different model.

The DeViSE baseline (:mod:`core.models.devise`) shares this class with an L2-normalised pixel embedding.
"""

from __future__ import annotations

from core.models.base import ModelConfig, Segmenter, register_model
from core.models.embedding import EmbeddingSegmenter


class SPNet(EmbeddingSegmenter):
    """SPNet: unnormalised semantic projection, dot product with the fixed class embeddings."""


@register_model("spnet")
def build_spnet(config: ModelConfig) -> Segmenter:
    """Registry builder of ``spnet``."""
    return SPNet(config)


# Registers ``devise`` too while core.models.base.BUILTIN_MODULES does not list core.models.devise (no cycle:
# devise and spnet both build on core.models.embedding, neither on the other).
from core.models import devise as _devise  # noqa: E402, F401
