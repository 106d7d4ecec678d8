"""Checkpoints: one file with the model config, weights, embedding source, class split and training state.

Written atomically (temp file + rename: a kill -9 never leaves half a checkpoint) and read with
``torch.load(weights_only=True)`` only: a checkpoint can never run code. Every failure is a
:class:`CheckpointError` naming the file and what to do.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.errors import ZerolabelError
from core.io.atomic import atomic_write_bytes
from core.models.base import ModelConfig, Segmenter, build_model

FORMAT = "zerolabel-checkpoint"
VERSION = 1


class CheckpointError(ZerolabelError):
    """A checkpoint file is missing, damaged, foreign or does not fit its model."""


@dataclass
class Checkpoint:
    """Everything in a checkpoint except the weights (which went into the model)."""

    path: Path
    config: ModelConfig
    embedding_source: str
    split: dict
    seen_classes: list[str]
    step: int = 0
    extra: dict = field(default_factory=dict)
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    rng_state: torch.Tensor | None = None


def save_checkpoint(
    path: str | os.PathLike,
    model: Segmenter,
    *,
    embedding_source: str,
    split: dict,
    extra: dict | None = None,
    optimizer_state: dict | None = None,
    scheduler_state: dict | None = None,
    rng_state: torch.Tensor | None = None,
    step: int = 0,
) -> Path:
    """Write ``model`` and its context to ``path`` atomically.

    Example:
        >>> save_checkpoint("runs/rn/last.pt", model, embedding_source="glove50",  # doctest: +SKIP
        ...                 split={"seen": [...], "unseen": [...]})
    """
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": dataclasses.asdict(model.config),
        "state_dict": model.state_dict(),
        "seen_classes": list(model.seen_classes),
        "embedding_source": embedding_source,
        "split": split,
        "step": int(step),
        "extra": extra or {},
        "optimizer_state": optimizer_state,
        "scheduler_state": scheduler_state,
        "rng_state": rng_state,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu") -> tuple[Segmenter, Checkpoint]:
    """Rebuild the model of a checkpoint and return it (eval mode) with the rest of the checkpoint.

    Raises:
        CheckpointError: missing, truncated or corrupt file; not a zerolabel checkpoint; a newer format; an
            unknown method; weights that do not fit the model.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file; pass a run folder's best.pt or last.pt")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({str(exc).splitlines()[0][:160]}); the file is truncated or "
            "damaged: use the run's other checkpoint (best.pt / last.pt) or train again"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: this is not a zerolabel checkpoint (no '{FORMAT}' marker)")
    if int(payload.get("version", 0)) > VERSION:
        raise CheckpointError(
            f"{path}: written by a newer zerolabel (format {payload['version']} > {VERSION}); upgrade zerolabel"
        )
    try:
        config = ModelConfig(**payload["config"])
        model = build_model(config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the model it describes cannot be built: {exc}") from exc
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: the weights do not fit the {config.method} model ({str(exc).splitlines()[0][:200]}); "
            "the file was edited or written by an incompatible version"
        ) from exc
    model.seen_classes = list(payload.get("seen_classes", []))
    model.eval()
    ckpt = Checkpoint(path, config, payload["embedding_source"], payload["split"], model.seen_classes,
                      int(payload.get("step", 0)), payload.get("extra") or {}, payload.get("optimizer_state"),
                      payload.get("scheduler_state"), payload.get("rng_state"))
    return model, ckpt
