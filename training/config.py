"""``TrainConfig``: every setting of a training run, with the ``fast`` and ``paper`` presets.

A config is frozen and JSON-serialisable; it is written to ``RUN/config.json`` and stored in checkpoints, so a
``--resume`` continues the same run.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

#: Methods trained with per-class sigmoid relation scores and episodes (RN paper).
EPISODIC = ("rn", "unet")
#: Methods trained with softmax cross-entropy over background + seen classes (ZS3Net paper's protocol).
SUPERVISED = ("spnet", "devise", "zs3net", "zs3net-gc")
METHODS = EPISODIC + SUPERVISED


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
        episode_classes: classes per RN episode (paper: 10), present + confusable + random negatives.
        pos_weight / dice_weight: imbalance handling of the episodic loss (see NOTES-zero-shot.md).
        eval_every / checkpoint_every: in steps; selection uses the seen-class validation split only.
        gmmn_steps: ZS3Net generator training steps after the segmentation network.
        init: a run folder or checkpoint whose weights start this run (fine-tuning; tensors of the same name and
            shape are copied, e.g. a Relation Network fine-tuned on corrected images of its former unseen classes).
        freeze_backbone: train only what sits on top of the image backbone (RN's word and relation modules,
            ZS3Net's DeepLab head and classifier): a cheap refit on a few corrected images.
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
    options: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("unseen") is not None:
            values["unseen"] = tuple(values["unseen"])
        return cls(**values)

    @classmethod
    def read(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def preset(name: str, method: str) -> dict:
    """The settings a preset implies for ``method`` (command-line flags override them).

    ``fast``: a useful model on a 96-128 px shapes set in a few minutes on 2 CPU cores (tiny backbone, Adam).
    ``paper``: the papers' hyperparameters (RN: Adam 1e-4 halved every 10,000 of 50,000 episodes, batch 32
    (8 for DeepLab), 10 classes per episode; ZS3Net/SPNet/DeViSE: SGD 7e-3, poly 0.9, momentum 0.9, weight decay
    5e-4; GMMN Adam 2e-4).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    episodic = method in EPISODIC
    if name == "fast":
        # Adam for every method: with the random-init tiny backbone, SGD 2e-2 (poly) left SPNet and DeViSE
        # predicting background only (seen val mIoU 0.039 after 1,200 steps) while Adam 1e-3 learned (measured).
        common = {"image_size": 96, "batch_size": 8, "eval_every": 250, "checkpoint_every": 250,
                  "steps": 2000, "optimizer": "adam", "lr": 1e-3, "lr_halve_every": 700}
        return common if episodic else {**common, "weight_decay": 1e-4, "gmmn_steps": 400}
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
