"""Checkpoints: one file with the model config, weights, embedding source, class split and training state.

Written atomically (:mod:`core.io.atomic`: temporary file, fsync, rename; a kill -9 never leaves half a
checkpoint) and read with ``torch.load(weights_only=True)`` only, so loading a checkpoint can never run code.
Every failure is a :class:`CheckpointError` naming the file and what to do.

Layout (a dict): ``format`` ("zerolabel-checkpoint"), ``version`` (:data:`VERSION`), ``config``
(``dataclasses.asdict(ModelConfig)``), ``state_dict``, ``seen_classes``, ``embedding_source``, ``split``
(``{"seen": [...], "unseen": [...]}``), ``step``, ``extra``, ``optimizer_state``, ``scheduler_state``,
``rng_state``.
"""

from __future__ import annotations

import dataclasses
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.errors import ZerolabelError
from core.io.atomic import atomic_write_bytes
from core.io.files import regular_file
from core.models.base import ModelConfig, Segmenter, build_model, model_names

FORMAT = "zerolabel-checkpoint"
#: Bump when the layout changes incompatibly; files with a higher version are refused with "upgrade".
VERSION = 1
_PLAIN = (str, int, float, bool, type(None), torch.Tensor)


class CheckpointError(ZerolabelError):
    """A checkpoint file is missing, damaged, foreign, too new, or does not fit its model."""


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
    version: int = VERSION


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
    """Write ``model`` and its context to ``path`` atomically; returns the path.

    Args:
        path: target file (parent folders are created).
        model: a registered :class:`Segmenter`; its ``config``, ``state_dict`` and ``seen_classes`` are saved.
        embedding_source: the text encoder that made the class embeddings (e.g. ``"glove50"``).
        split: ``{"seen": [names], "unseen": [names]}``.
        extra: JSON-like values (str, numbers, bools, None, tensors, lists, dicts with str keys).
        optimizer_state, scheduler_state, rng_state, step: training state for resuming.

    Raises:
        TypeError: ``split`` or ``extra`` hold values ``torch.load(weights_only=True)`` could not read back.

    Example:
        >>> save_checkpoint("runs/rn/last.pt", model, embedding_source="glove50",  # doctest: +SKIP
        ...                 split={"seen": ["cat"], "unseen": ["dog"]}, step=1000)
    """
    if not isinstance(split, dict):
        raise TypeError(
            f"split must be a dict like {{'seen': [...], 'unseen': [...]}}, got {type(split).__name__}"
        )
    _check_plain(split, "split")
    _check_plain(extra or {}, "extra")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": dataclasses.asdict(model.config),
        "state_dict": model.state_dict(),
        "seen_classes": list(model.seen_classes),
        "embedding_source": str(embedding_source),
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
    atomic_write_bytes(path, buffer.getvalue())
    return path


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[Segmenter, Checkpoint]:
    """Rebuild the model of a checkpoint (in eval mode) and return it with the rest of the checkpoint.

    Raises:
        CheckpointError: missing, truncated or corrupt file; not a zerolabel checkpoint; written by a newer
            zerolabel; an unknown method; weights that do not fit the model.

    Example:
        >>> model, ckpt = load_checkpoint("runs/rn/best.pt")  # doctest: +SKIP
        >>> ckpt.split["unseen"], ckpt.embedding_source  # doctest: +SKIP
        (['dog'], 'glove50')
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file; pass a run folder's best.pt or last.pt")
    regular_file(path, "checkpoint", CheckpointError)  # a folder, a FIFO (would block) or /dev/zero (endless)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # zip, unpickling and storage errors all mean the same thing to a user
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({reason}); the file is truncated or damaged, or not a torch "
            "file: use the run's other checkpoint (best.pt / last.pt) or train again"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: this is not a zerolabel checkpoint (no '{FORMAT}' marker); pass a file written by "
            "zerolabel train (runs/NAME/best.pt or last.pt)"
        )
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path}: written by a newer zerolabel (checkpoint format {version}, this version reads up to "
            f"{VERSION}); upgrade zerolabel to load it"
        )
    missing = [k for k in ("config", "state_dict", "embedding_source", "split") if k not in payload]
    if missing:
        raise CheckpointError(f"{path}: the checkpoint lacks {missing}; the file was edited or cut short")
    _check_fields(path, payload)
    model, config = _build(path, _earlier_defaults(payload["config"], payload["state_dict"]))
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(
            f"{path}: the weights do not fit the {config.method} model ({str(exc).splitlines()[0][:200]}); "
            "the file was edited or written by an incompatible zerolabel version"
        ) from exc
    model.seen_classes = list(payload.get("seen_classes") or [])
    model.eval()
    ckpt = Checkpoint(
        path=path, config=config, embedding_source=payload["embedding_source"], split=payload["split"],
        seen_classes=model.seen_classes, step=int(payload.get("step", 0)), extra=payload.get("extra") or {},
        optimizer_state=payload.get("optimizer_state"), scheduler_state=payload.get("scheduler_state"),
        rng_state=payload.get("rng_state"), version=version,
    )
    return model, ckpt


#: The type of every field a checkpoint's reader uses (a weights-only load gives back any plain value).
_FIELDS: dict[str, tuple[type, ...]] = {"embedding_source": (str,), "split": (dict,), "step": (int,),
                                        "seen_classes": (list, tuple, type(None)), "extra": (dict, type(None))}
_CONFIG_FIELDS: dict[str, tuple[type, ...]] = {"method": (str,), "backbone": (str,), "embed_dim": (int,),
                                               "pretrained": (bool,), "image_size": (int,), "options": (dict,)}


def _check_fields(path: Path, payload: dict) -> None:
    """Refuse a payload whose fields have the wrong types (an edited file) before anything is built from it."""
    problems = [f"{k} is a {type(payload[k]).__name__}" for k, kinds in _FIELDS.items()
                if k in payload and (not isinstance(payload[k], kinds) or isinstance(payload[k], bool) is not
                                     (bool in kinds))]
    raw = payload["config"]
    if not isinstance(raw, dict):
        problems.append(f"config is a {type(raw).__name__}")
    else:
        problems += [f"config.{k} is a {type(raw[k]).__name__}" for k, kinds in _CONFIG_FIELDS.items()
                     if k in raw and (not isinstance(raw[k], kinds) or isinstance(raw[k], bool) is not (bool in kinds))]
        problems += [f"config.{k} is {raw[k]}" for k in ("embed_dim", "image_size")
                     if isinstance(raw.get(k), int) and raw[k] < (0 if k == "embed_dim" else 1)]
    split = payload["split"]
    if isinstance(split, dict) and not all(isinstance(v, list | tuple) and all(isinstance(n, str) for n in v)
                                           for v in split.values()):
        problems.append("split does not hold lists of class names")
    seen = payload.get("seen_classes")
    if isinstance(seen, list | tuple) and not all(isinstance(n, str) for n in seen):
        problems.append("seen_classes does not hold class names")
    if problems:
        raise CheckpointError(f"{path}: not a valid zerolabel checkpoint ({'; '.join(problems)}); the file was "
                              "edited or damaged: use the run's other checkpoint (best.pt / last.pt) or train again")


def _earlier_defaults(raw: Any, state: Any) -> Any:
    """A Relation Network / U-Net saved before ``image_norm``, ``word_act`` and ``joint`` existed is built as it
    was trained (no image-term norm, ReLU word output, sigmoid maps), so earlier runs still load and predict
    unchanged."""
    if (isinstance(raw, dict) and raw.get("method") in ("rn", "unet") and isinstance(state, dict)
            and "image_convs.0.weight" in state and "image_norms.0.weight" not in state):
        options = dict(raw.get("options") or {})
        options.setdefault("image_norm", False)
        if raw.get("method") == "rn":
            options.setdefault("word_act", "relu")
            options.setdefault("joint", "sigmoid")
        return {**raw, "options": options}
    return raw


def _build(path: Path, raw: Any) -> tuple[Segmenter, ModelConfig]:
    """The model a checkpoint's config describes, or a CheckpointError saying why it cannot be built."""
    try:
        config = ModelConfig(**raw)
    except TypeError as exc:
        raise CheckpointError(
            f"{path}: its model config does not fit this zerolabel ({exc}); it was written by another version"
        ) from exc
    if config.method not in model_names():
        raise CheckpointError(
            f"{path}: unknown method {config.method!r} (this zerolabel knows {', '.join(model_names())}); "
            "upgrade zerolabel or use a checkpoint of a known method"
        )
    try:
        # The saved weights replace any pretrained ones: build without them (no hub cache needed).
        model = build_model(dataclasses.replace(config, pretrained=False))
    except (ValueError, TypeError, ZerolabelError) as exc:
        raise CheckpointError(
            f"{path}: the {config.method} model it describes cannot be built: {exc}"
        ) from exc
    model.config = config
    return model, config


def _check_plain(value: Any, where: str) -> None:
    """Refuse values a weights-only load could not read back (the error would otherwise come at load time)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str | int):
                raise TypeError(f"{where}: key {k!r} is a {type(k).__name__}; checkpoint keys are str or int")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(value, _PLAIN):
        raise TypeError(
            f"{where} is a {type(value).__name__}; checkpoints hold only str, numbers, bools, None, tensors, "
            "lists and dicts (convert it, e.g. str(path) or array.tolist())"
        )
