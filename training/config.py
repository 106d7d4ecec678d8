"""``TrainConfig``: every setting of a training run, with the ``fast`` and ``paper`` presets.

A config is frozen and JSON-serialisable; it is written to ``RUN/config.json`` and stored in checkpoints, so a
``--resume`` continues the same run.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ZerolabelError
from core.io.files import regular_file
from training.methods import METHODS as _METHODS
from training.methods import method as describe

#: Every ``--method`` (training.methods describes how each trains).
METHODS = tuple(_METHODS)

#: The allowed range of every numeric setting: field -> (type, lowest, highest, must be above). The ``train``
#: flags parse with these (``cli.flags.number``) and :class:`TrainConfig` checks them again (config.json).
LIMITS: dict[str, tuple[type, float | None, float | None, float | None]] = {
    "image_size": (int, 32, 4096, None),
    "steps": (int, 1, None, None),
    "batch_size": (int, 1, 4096, None),
    "lr": (float, 0.0, 10.0, None),
    "backbone_lr": (float, 0.0, 10.0, None),
    "lr_halve_every": (int, 0, None, None),
    "poly_power": (float, 0.0, None, None),
    "momentum": (float, 0.0, 1.0, None),
    "weight_decay": (float, 0.0, None, None),
    "episode_classes": (int, 1, 255, None),
    "pos_weight": (float, 0.0, None, None),
    "dice_weight": (float, 0.0, None, None),
    "eval_every": (int, 1, None, None),
    "eval_images": (int, 1, None, None),
    "checkpoint_every": (int, 1, None, None),
    "gmmn_steps": (int, 0, None, None),
    "seed": (int, 0, 2**32 - 1, None),
    "top_p": (float, None, 100.0, 0.0),
    "rounds": (int, 1, None, None),
}
_TEXT = ("method", "data", "out", "embedding", "backbone", "preset", "view", "optimizer", "init", "unlabeled")
_CHOICES = {"method": METHODS, "view": ("drop", "ignore"), "optimizer": ("adam", "sgd"), "preset": ("fast", "paper")}


class ConfigError(ZerolabelError):
    """A run's settings (flags or ``RUN/config.json``) hold a value of the wrong type or out of range."""


def check_value(name: str, value: object) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a valid ``name`` setting (see :data:`LIMITS`)."""
    kind, low, high, above = LIMITS[name]
    ok_type = isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        ok_type = ok_type or (isinstance(value, float) and math.isfinite(value))
    if not ok_type or (low is not None and value < low) or (high is not None and value > high) or (
        above is not None and value <= above
    ):
        wanted = " and ".join(b for b in (f">= {low}" if low is not None else "", f"> {above}" if above is not None
                                          else "", f"<= {high}" if high is not None else "") if b)
        what = "an integer" if kind is int else "a finite number"
        raise ConfigError(f"{name} must be {what} {wanted}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Attributes:
        method: ``rn``, ``unet``, ``spnet``, ``devise``, ``zs3net`` or ``zs3net-gc``.
        data: dataset folder in zerolabel's layout.
        out: run folder (checkpoints, config.json, metrics).
        unseen: unseen class names; ``None`` reads ``DATA/unseen.txt``.
        embedding: text-encoder spec (``glove50``, ``minilm``, ``word2vec:PATH``, ``P1+P2``, ...).
        backbone: ``tiny``, ``effnet-lite0``, ``vgg16`` or ``resnet101``.
        pretrained: ImageNet weights for the backbone (offline only).
        view: zero-shot training view, ``drop`` (ZS3Net) or ``ignore`` (SPNet).
        steps: optimisation steps (RN: episodes).
        batch_size: global batch (split across ranks under torchrun).
        optimizer: ``adam`` (RN) or ``sgd`` (DeepLab family).
        lr: base learning rate. ``lr_halve_every``: Adam schedule (0 = poly schedule with ``poly_power``).
        backbone_lr: the image backbone's learning rate as a fraction of ``lr`` (ImageNet weights move slower).
        episode_classes: classes per RN episode (paper: 10), present + confusable + random negatives.
        pos_weight / dice_weight: imbalance handling of the episodic loss (see docs/training.md).
        eval_every / checkpoint_every: in steps; selection uses the seen-class validation split only.
        gmmn_steps: ZS3Net generator training steps after the segmentation network.
        init: a run folder or checkpoint whose weights start this run (fine-tuning; tensors of the same name and
            shape are copied, e.g. a Relation Network fine-tuned on corrected images of its former unseen classes).
        freeze_backbone: train only what sits on top of the image backbone (RN's word and relation modules,
            ZS3Net's DeepLab head and classifier): a cheap refit on a few corrected images.
        unlabeled: a folder of images without labels: the run *self-trains* (ZS5Net) the whole model of
            ``init`` on seen-class training batches plus top-``top_p`` % pseudo-labels of each unseen class on
            those images, recomputed at the start of each of ``rounds`` (``training.selftrain``).
    """

    method: str
    data: str
    out: str
    unseen: tuple[str, ...] | None = None
    embedding: str = "glove50"
    backbone: str = "tiny"
    pretrained: bool = False
    preset: str = "fast"
    view: str = "drop"
    image_size: int = 96
    steps: int = 1200
    batch_size: int = 8
    optimizer: str = "adam"
    lr: float = 1e-3
    backbone_lr: float = 1.0
    lr_halve_every: int = 400
    poly_power: float = 0.9
    momentum: float = 0.9
    weight_decay: float = 1e-4
    episode_classes: int = 10
    pos_weight: float = 4.0
    dice_weight: float = 1.0
    eval_every: int = 200
    eval_images: int = 100
    checkpoint_every: int = 100
    gmmn_steps: int = 400
    seed: int = 0
    init: str = ""
    freeze_backbone: bool = False
    unlabeled: str = ""
    top_p: float = 25.0
    rounds: int = 1
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every field has its type and range (a hand-edited or damaged config.json fails here, clearly)."""
        for name in _TEXT:
            value = getattr(self, name)
            if not isinstance(value, str) or (name in ("method", "data", "out") and not value):
                raise ConfigError(f"{name} must be a non-empty text, got {value!r}" if name in ("method", "data",
                                  "out") else f"{name} must be a text, got {value!r}")
            if name in _CHOICES and value not in _CHOICES[name]:
                raise ConfigError(f"{name} {value!r} is not one of {', '.join(_CHOICES[name])}")
        for name in LIMITS:
            check_value(name, getattr(self, name))
        for name in ("pretrained", "freeze_backbone"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.unseen is not None and not (
            isinstance(self.unseen, tuple) and all(isinstance(n, str) for n in self.unseen)
        ):
            raise ConfigError(f"unseen must be a list of class names, got {self.unseen!r}")
        if not isinstance(self.options, dict):
            raise ConfigError(f"options must be an object of KEY: VALUE, got {self.options!r}")
        if self.unlabeled and not self.init:
            raise ConfigError("self-training (unlabeled images) starts from a trained run: give init")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """A config from its JSON object; :class:`ConfigError` for anything else."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got a {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        missing = [k for k in ("method", "data", "out") if k not in values]
        if missing:
            raise ConfigError(f"{', '.join(missing)} missing")
        if isinstance(values.get("unseen"), list):
            values["unseen"] = tuple(values["unseen"])
        return cls(**values)

    @classmethod
    def read(cls, path: str | Path) -> TrainConfig:
        """Read ``RUN/config.json``; every problem is a :class:`ConfigError` naming the file."""
        path = Path(path)
        try:
            regular_file(path, "run config", ConfigError)
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}; fix the file or start a new run folder") from None
        except (OSError, ValueError, RecursionError) as exc:
            raise ConfigError(f"{path}: cannot be read as a run config ({exc}); start a new run folder") from None


def preset(name: str, method: str) -> dict:
    """The settings a preset implies for ``method`` (command-line flags override them).

    ``fast``: a useful model on a 96-128 px shapes set in a few minutes on 2 CPU cores: the ImageNet
    EfficientNet-Lite0 backbone that ships (the papers start from ImageNet weights too), Adam, 800 steps.
    ``paper``: the papers' hyperparameters (RN: Adam 1e-4 halved every 10,000 of 50,000 episodes, batch 32
    (8 for DeepLab), 10 classes per episode; ZS3Net/SPNet/DeViSE: SGD 7e-3, poly 0.9, momentum 0.9, weight decay
    5e-4; GMMN Adam 2e-4).
    """
    episodic = describe(method).episodic
    if name == "fast":
        # The ImageNet backbone is most of the ceiling: with the random-init tiny backbone the supervised oracles
        # stayed at 19 (RN) and 46 (SPNet) overall mIoU after 2,000 steps; SPNet on EfficientNet-Lite0 reaches 86
        # seen validation mIoU in 800 (bench/training_curves.py). Adam for every method: SGD 2e-2 (poly) left
        # SPNet and DeViSE predicting background only on the tiny backbone.
        common = {"image_size": 96, "batch_size": 8, "eval_every": 200, "checkpoint_every": 200,
                  "steps": 800, "optimizer": "adam", "lr": 1e-3, "lr_halve_every": 700,
                  "backbone": "effnet-lite0", "pretrained": True}
        if episodic:  # RN: the backbone at a tenth of the rate reached 79.6 seen val mIoU at step 400, 44.6 at 1.0
            return {**common, "backbone_lr": 0.1}  # (SPNet went the other way: 59.9 against 68.9 at step 400)
        return {**common, "weight_decay": 1e-4, "gmmn_steps": 400}
    if name == "paper":
        if episodic:
            return {"image_size": 320, "batch_size": 32, "steps": 50_000, "optimizer": "adam", "lr": 1e-4,
                    "lr_halve_every": 10_000, "episode_classes": 10, "eval_every": 2_500,
                    "checkpoint_every": 1_000, "backbone": "vgg16", "pretrained": True}
        return {"image_size": 312, "batch_size": 8, "steps": 30_000, "optimizer": "sgd", "lr": 7e-3,
                "lr_halve_every": 0, "poly_power": 0.9, "momentum": 0.9, "weight_decay": 5e-4,
                "eval_every": 2_500, "checkpoint_every": 1_000, "backbone": "resnet101", "pretrained": True,
                "gmmn_steps": 5_000}
    raise ValueError(f"unknown preset {name!r}; choose fast or paper")
