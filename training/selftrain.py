"""ZS5Net: self-training on a folder of unlabeled images (ZS3Net paper, Sec. 3.3), as a mode of the one Trainer.

A run with ``TrainConfig.unlabeled`` set starts from the whole model of ``init`` (a trained run of a method that
self-trains, ``training.methods``: ZS3Net, SPNet, DeViSE; unseen classes already scored) and trains on batches that
are half seen-class training images (their ground truth, unseen classes never present) and half unlabeled images
with pseudo-labels. At the start of each of ``rounds`` the current model predicts every unlabeled image with all
classes; for each *unseen* class the top ``top_p`` % most confident pixels predicted as that class are kept (one
threshold per class over the whole folder, paper: p = 25 on VOC), everything else is ignored. Unseen ground truth is
never read. Each round's pseudo-labels are saved in the run folder, so ``--resume`` continues with the same ones;
the trainer evaluates and chooses ``best.pt`` on the seen validation split with every class competing (an unseen
class predicted on a seen image costs seen IoU), DDP and every dataset kind work as in any run.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from core.data.base import IGNORE_INDEX
from core.data.unlabeled import UnlabeledFolder
from core.errors import ZerolabelError
from core.io.atomic import atomic_write_bytes
from core.models import load_checkpoint
from core.models.base import predict_probabilities
from training.config import TrainConfig
from training.data import random_crop, resize_pair, to_tensor
from training.messages import Finished, Log
from training.methods import METHODS
from training.runs import resolve_checkpoint

if TYPE_CHECKING:
    from training.trainer import Trainer

#: Methods that self-train: softmax models that score any class from its embedding or a fitted row.
SELF_TRAINING = tuple(m.name for m in METHODS.values() if m.selftrains)
PSEUDO = "pseudo_labels.npz"


def pseudo_labels(probs: list[np.ndarray], unseen_columns: list[int], top_p: float) -> list[np.ndarray]:
    """Pseudo-label maps (column index of the class, 255 elsewhere) from ``[1 + C, H, W]`` probabilities.

    For each unseen column u, among all pixels of all images whose argmax is u, the top ``top_p`` % by
    probability are kept (one threshold per class over the whole set, as in the paper).
    """
    argmax = [p.argmax(0) for p in probs]
    conf = [p.max(0) for p in probs]
    out = [np.full(a.shape, IGNORE_INDEX, np.uint8) for a in argmax]
    for u in unseen_columns:
        values = np.concatenate([c[a == u] for a, c in zip(argmax, conf, strict=True)])
        if values.size == 0:
            continue
        threshold = np.percentile(values, 100 - top_p)
        for o, a, c in zip(out, argmax, conf, strict=True):
            o[(a == u) & (c >= threshold)] = u
    return out


class SelfTraining:
    """The self-training state of one Trainer run: the unlabeled images, the class columns and the current
    round's pseudo-labels. Columns: 0 background, 1..S the seen classes, S+1..S+U the unseen ones."""

    def __init__(self, trainer: Trainer) -> None:
        cfg = trainer.config
        if cfg.method not in SELF_TRAINING:
            raise ZerolabelError(f"self-training (ZS5Net) needs a {', '.join(SELF_TRAINING)} run, not {cfg.method}")
        if not trainer.unseen:
            raise ZerolabelError("self-training needs unseen classes to pseudo-label; this run has none")
        folder = UnlabeledFolder(cfg.unlabeled)
        self.images = [resize_pair(image, None, cfg.image_size)[0] for _, image in folder]
        if not self.images:
            raise ZerolabelError(f"{cfg.unlabeled}: no readable images to self-train on")
        self.skipped = len(folder.failures)
        self.columns = [*trainer.seen, *trainer.unseen]  # dataset index of each score column 1..
        self.unseen_columns = list(range(len(trainer.seen) + 1, len(self.columns) + 1))
        self.matrix = torch.stack([trainer.embeddings[c] for c in self.columns])
        # The classifier stays as fitted (ZS3Net's refit bank, its logit-adjusted biases included): trained on
        # mixed batches, cross-entropy pulled the biases back to the batches' class shares and undid the unseen
        # prior (GZLSS unseen 84.4 -> 56.2); only the network adapts to the pseudo-labels.
        for name in ("weight", "bias", "bg_weight", "bg_bias"):
            if hasattr(trainer.model, "set_bank") and isinstance(getattr(trainer.model, name, None),
                                                                 torch.nn.Parameter):
                getattr(trainer.model, name).requires_grad_(False)
        self.round_steps = math.ceil(cfg.steps / cfg.rounds)
        self.round = -1
        self.labels: list[np.ndarray] = []
        self.path = trainer.out / PSEUDO

    def names(self, trainer: Trainer) -> list[str]:
        return [trainer.class_names[0]] + [trainer.class_names[c] for c in self.columns]

    # -- pseudo-labels, once per round --------------------------------------------------------------------
    def ensure_round(self, trainer: Trainer) -> None:
        """The pseudo-labels of the round ``trainer.step`` is in: read back (resume) or computed now."""
        wanted = trainer.step // self.round_steps
        if wanted == self.round:
            return
        if not self._load(wanted):
            self._compute(trainer)
            self._save(wanted)
        self.round = wanted
        kept = {trainer.class_names[self.columns[u - 1]]: int(sum((lab == u).sum() for lab in self.labels))
                for u in self.unseen_columns}
        trainer.emit(Log(f"round {wanted + 1}/{trainer.config.rounds}: pseudo-labelled pixels per unseen class on "
                         f"{len(self.images)} images: " + ", ".join(f"{k} {v}" for k, v in kept.items())))

    @torch.no_grad()
    def _compute(self, trainer: Trainer) -> None:
        model, device = trainer.model, trainer.device
        was_training = model.training
        model.eval()
        matrix = self.matrix.to(device)
        probs = [predict_probabilities(model, model.encode(to_tensor(img[None]).to(device)), matrix,
                                       img.shape[:2])[0].cpu().numpy() for img in self.images]
        model.train(was_training)
        self.labels = pseudo_labels(probs, self.unseen_columns, trainer.config.top_p)

    def _save(self, round_index: int) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, *self.labels, round=np.int64(round_index))
        atomic_write_bytes(self.path, buffer.getvalue())

    def _load(self, round_index: int) -> bool:
        try:
            with np.load(self.path) as data:
                if int(data["round"]) != round_index or len(data.files) - 1 != len(self.images):
                    return False
                self.labels = [data[f"arr_{i}"] for i in range(len(self.images))]
        except (OSError, ValueError, KeyError):
            return False
        return all(lab.shape == img.shape[:2] for lab, img in zip(self.labels, self.images, strict=True))

    # -- batches --------------------------------------------------------------------------------------------
    def batch(self, trainer: Trainer) -> tuple[torch.Tensor, torch.Tensor]:
        """Half seen-class training images (targets through the column table), half pseudo-labelled ones."""
        cfg, step = trainer.config, trainer.step
        half = max(1, cfg.batch_size // 2)
        seen = trainer.train_data.batch(step, half, cfg.seed, trainer.rank, trainer.world)
        rng = np.random.default_rng([cfg.seed, step, 2])
        pick = rng.choice(len(self.images), size=half)[trainer.rank :: trainer.world]
        images, labels = [], []
        for i in pick:
            crop = np.random.default_rng([cfg.seed, step, 2, int(i)])
            image, label = random_crop(self.images[i], self.labels[i], cfg.image_size, crop)
            images.append(image)
            labels.append(label)
        x = torch.cat([seen.images, to_tensor(np.stack(images))])
        # seen ground truth through the trainer's table: its columns are ours (0 background, 1..S seen)
        y = torch.cat([trainer.lut[seen.labels], torch.from_numpy(np.stack(labels).astype(np.int64))])
        return x, y


def selftrain_config(run: str | Path, unlabeled: str | Path, out: str | Path, *, top_p: float = 25.0,
                     rounds: int = 1, steps: int = 300, lr: float | None = None) -> TrainConfig:
    """The config of a self-training run of ``run``: its own settings, ``steps`` per round, a tenth of its
    learning rate unless ``lr`` is given."""
    path = resolve_checkpoint(run)
    _, ckpt = load_checkpoint(path)
    try:
        cfg = TrainConfig.from_dict(json.loads(ckpt.extra["train_config"]))
    except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ZerolabelError: it names what is wrong
        raise ZerolabelError(f"{path}: holds no readable training config ({exc}); self-train a run folder "
                             "of `zerolabel train`") from None
    if cfg.method not in SELF_TRAINING:
        raise ZerolabelError(f"{path}: self-training (ZS5Net) needs a {', '.join(SELF_TRAINING)} model, not "
                             f"{cfg.method}")
    total = rounds * steps
    return dataclasses.replace(
        cfg, out=str(out), init=str(path), unlabeled=str(unlabeled), top_p=float(top_p), rounds=rounds,
        steps=total, lr=lr if lr is not None else cfg.lr * 0.1, lr_halve_every=0, poly_power=0.0,
        eval_every=max(1, min(cfg.eval_every, steps)), checkpoint_every=max(1, min(cfg.checkpoint_every, steps)),
        unseen=tuple(ckpt.split["unseen"]), freeze_backbone=False,
    )


def selftrain(
    run: str | Path,
    unlabeled: str | Path,
    out: str | Path,
    *,
    top_p: float = 25.0,
    rounds: int = 1,
    steps: int = 300,
    lr: float | None = None,
    messages: queue.Queue | None = None,
    stop: threading.Event | None = None,
    resume: bool = False,
) -> Path | None:
    """Self-train ``run`` (ZS5Net) into the run folder ``out`` with the Trainer; returns its ``best.pt``
    (``None`` when stopped: ``out/last.pt`` is kept and ``resume=True`` continues it)."""
    from training.trainer import Trainer

    try:
        cfg = selftrain_config(run, unlabeled, out, top_p=top_p, rounds=rounds, steps=steps, lr=lr)
    except ZerolabelError as exc:
        if messages is not None:
            messages.put(Finished("failed", 0, error=str(exc)))
        raise
    trainer = Trainer(cfg, messages, stop, resume=resume)
    best = trainer.fit()
    return None if trainer.stop.is_set() else best
