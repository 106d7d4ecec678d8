"""Zero-shot segmenters behind the ``Segmenter`` contract (encode once, score many classes), one registry of
methods, and checkpoints (one file: config, weights, embedding source, class split; weights-only loading).

Example:
    >>> from core.models import ModelConfig, build_model
    >>> model = build_model(ModelConfig("rn", backbone="tiny", embed_dim=50))
"""

from core.models.base import (
    ModelConfig,
    Segmenter,
    build_model,
    model_names,
    predict_probabilities,
    register_model,
)
from core.models.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ModelConfig",
    "Segmenter",
    "build_model",
    "load_checkpoint",
    "model_names",
    "predict_probabilities",
    "register_model",
    "save_checkpoint",
]
