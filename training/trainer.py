"""The ``Trainer``: one loop for every method, with hooks, a cooperative stop flag, typed progress messages,
atomic checkpoints, exact resume, NaN guard and ``torchrun`` (DDP) support.

Model selection reads only the seen-class validation split (``val`` holds no unseen class by construction and is
viewed through the same zero-shot filter as training); the unseen test classes are never evaluated here.
"""

from __future__ import annotations

import dataclasses
import math
import queue as queue_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.data.open import is_layout, open_dataset
from core.embeddings import build_encoder
from core.errors import ZerolabelError
from core.io.atomic import atomic_write_text
from core.metrics import Evaluator
from core.models import ModelConfig, build_model, load_checkpoint, save_checkpoint
from core.models.base import Segmenter, predict_probabilities
from training import distributed as dist
from training.config import ConfigError, TrainConfig
from training.data import IGNORE_INDEX, TrainData
from training.episodes import episode_columns, episode_targets, sample_episode
from training.losses import cosine_regression_loss, relation_loss, seen_lut, softmax_loss
from training.messages import CheckpointSaved, EvalDone, Finished, Log, Message, Started, StepDone
from training.methods import method as describe
from training.runs import BEST, LAST, RunFolder, resolve_checkpoint


class TrainingError(ZerolabelError):
    """Training cannot go on (non-finite loss, bad data); the last good checkpoint is kept."""


@dataclass
class Hooks:
    """Callbacks the loop calls; each receives the trainer."""

    on_step: list[Callable[[Trainer], None]] = field(default_factory=list)
    on_eval: list[Callable[[Trainer, dict], None]] = field(default_factory=list)
    on_checkpoint: list[Callable[[Trainer, Path], None]] = field(default_factory=list)


class TrainStep(nn.Module):
    """Wraps a Segmenter so DDP sees one ``forward``: images + class embeddings -> (logits, background)."""

    def __init__(self, model: Segmenter) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, class_embeddings: torch.Tensor):
        features = self.model.encode(images)
        return self.model.score(features, class_embeddings), self.model.background_score(features)


class Trainer:
    """Train one run described by a :class:`TrainConfig`.

    Args:
        config: the run.
        messages: a queue for progress messages (``None``: messages are dropped, hooks still run).
        stop: an event; when set, the loop saves a checkpoint and ends with status ``stopped``.
        resume: continue from ``OUT/last.pt`` with its optimizer, scheduler and RNG state.

    Example:
        >>> cfg = TrainConfig(method="rn", data="/data/shapes", out="runs/rn")  # doctest: +SKIP
        >>> Trainer(cfg).fit()  # doctest: +SKIP
    """

    def __init__(
        self,
        config: TrainConfig,
        messages: queue_module.Queue | None = None,
        stop: threading.Event | None = None,
        *,
        resume: bool = False,
        hooks: Hooks | None = None,
    ) -> None:
        self.config = config
        self.messages = messages
        self.stop = stop or threading.Event()
        self.resume = resume
        self.hooks = hooks or Hooks()
        self.out = Path(config.out)
        self.step = 0
        self.best_score = -math.inf
        self.rank, self.world = dist.rank_and_world()
        self.device = dist.device_for(self.rank)

    # -- messages ---------------------------------------------------------------------------------
    def emit(self, message: Message) -> None:
        if self.messages is not None and self.rank == 0:
            self.messages.put(message)

    # -- set-up -----------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        dataset = open_dataset(cfg.data, cfg.unseen)
        self.dataset = dataset
        # Our layout has a seen-only val split. The papers' datasets use their val split as the test set, so
        # validation is every 10th training image, held out from training.
        holdout = 0 if is_layout(cfg.data) and "val" in dataset.splits() else 10
        self.train_data = TrainData(dataset, "train", view=cfg.view, size=cfg.image_size, holdout=holdout)
        val_split = "train" if holdout else "val"
        self.val_data = TrainData(dataset, val_split, view=cfg.view, size=cfg.image_size, limit=cfg.eval_images,
                                  holdout=holdout, held_out=True)
        self.encoder = build_encoder(cfg.embedding)
        self.class_names = dataset.classes
        self.seen = list(self.train_data.seen_indices)
        self.unseen = list(self.train_data.unseen_indices)
        names = [self.class_names[i] for i in self.seen + self.unseen]
        vectors = torch.from_numpy(self.encoder.embed(names))
        self.embeddings = dict(zip(self.seen + self.unseen, vectors, strict=True))
        self.seen_matrix = torch.stack([self.embeddings[c] for c in self.seen])
        self.lut = seen_lut(len(self.class_names), self.seen)
        self.method = describe(cfg.method)
        embed_dim = self.encoder.dim if self.method.uses_words else 0
        try:
            self.model = build_model(
                ModelConfig(cfg.method, cfg.backbone, embed_dim, cfg.pretrained, cfg.image_size, dict(cfg.options))
            )
        except ValueError as exc:  # an unknown --backbone or --option: the model registry says which are known
            raise ConfigError(f"{exc}; fix --backbone / --option") from None
        self.model.seen_classes = [self.class_names[c] for c in self.seen]
        if hasattr(self.model, "set_seen_classes"):
            self.model.set_seen_classes(self.model.seen_classes, self.seen_matrix)
        self.selftraining = None
        if cfg.unlabeled:  # ZS5Net: the whole model of ``init``, unseen rows included, then pseudo-labels
            from training.selftrain import SelfTraining

            if not self.resume:
                self.model = self._whole_model(cfg.init)
            self.selftraining = SelfTraining(self)
        elif cfg.init and not self.resume:
            self._init_from(cfg.init)
        self.model.to(self.device)
        self.optimizer = self._optimizer()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        if self.resume:
            self._load_state()
        self.step_module: nn.Module = dist.wrap(TrainStep(self.model), self.world)

    def _init_from(self, source: str) -> None:
        """Copy every tensor of ``source``'s model that has the same name and shape (fine-tuning)."""
        path = resolve_checkpoint(source)
        donor, ckpt = load_checkpoint(path)
        if ckpt.config.method != self.config.method:
            raise ZerolabelError(f"--init {path}: a {ckpt.config.method} checkpoint cannot start a "
                                 f"{self.config.method} run; pick a run of the same method")
        own = self.model.state_dict()
        shared = {k: v for k, v in donor.state_dict().items() if k in own and own[k].shape == v.shape}
        if not shared:
            raise ZerolabelError(f"--init {path}: no weight fits this model (another backbone or embedding size?)")
        self.model.load_state_dict(shared, strict=False)
        self.emit(Log(f"initialised {len(shared)} of {len(own)} tensors from {path}"))

    def _whole_model(self, source: str) -> Segmenter:
        """``source``'s model as it is (self-training continues it); it must be of this run's classes."""
        path = resolve_checkpoint(source)
        model, ckpt = load_checkpoint(path)
        if ckpt.config.method != self.config.method or ckpt.split.get("unseen") != self.split()["unseen"]:
            raise ZerolabelError(f"{path}: a {ckpt.config.method} run with unseen classes {ckpt.split.get('unseen')} "
                                 f"cannot start this {self.config.method} run with {self.split()['unseen']}")
        return model

    def _backbones(self) -> list[nn.Module]:
        """The model's image backbones (every submodule named ``backbone``): what ``freeze_backbone`` freezes."""
        return [m for name, m in self.model.named_modules() if name.rsplit(".", 1)[-1] == "backbone"]

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.freeze_backbone:  # refit what sits on the backbone only (corrections of a few images)
            for backbone in self._backbones():
                backbone.requires_grad_(False)
        in_backbone = {id(p) for backbone in self._backbones() for p in backbone.parameters()}
        params = [
            {"params": [p for p in self.model.parameters() if p.requires_grad and id(p) not in in_backbone]},
            {"params": [p for p in self.model.parameters() if p.requires_grad and id(p) in in_backbone],
             "lr": cfg.lr * cfg.backbone_lr},
        ]
        params = [group for group in params if group["params"]]
        if cfg.optimizer == "adam":
            return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose adam or sgd")

    def _lr_factor(self, step: int) -> float:
        cfg = self.config
        if cfg.lr_halve_every > 0:
            return 0.5 ** (step // cfg.lr_halve_every)
        return max(0.0, 1 - step / max(1, cfg.steps)) ** cfg.poly_power

    # -- checkpoints ------------------------------------------------------------------------------
    def split(self) -> dict:
        return {
            "classes": list(self.class_names),
            "seen": [self.class_names[c] for c in self.seen],
            "unseen": [self.class_names[c] for c in self.unseen],
        }

    def save(self, name: str = LAST) -> Path:
        path = self.out / name
        if self.rank != 0:
            return path
        bad = [n for n, p in self.model.state_dict().items() if p.is_floating_point() and not torch.isfinite(p).all()]
        if bad:
            raise TrainingError(
                f"the weights became non-finite ({bad[0]}, ...) at step {self.step}; {path} was not overwritten "
                f"and keeps the last good state. Lower the learning rate (--lr) and resume."
            )
        save_checkpoint(
            path,
            self.model,
            embedding_source=self.encoder.source,
            split=self.split(),
            extra={"train_config": self.config.to_json(), "best_score": self.best_score},
            optimizer_state=self.optimizer.state_dict(),
            scheduler_state=self.scheduler.state_dict(),
            rng_state=torch.get_rng_state(),
            step=self.step,
        )
        self.emit(CheckpointSaved(self.step, str(path)))
        for hook in self.hooks.on_checkpoint:
            hook(self, path)
        return path

    def _load_state(self) -> None:
        path = self.out / LAST
        if not path.exists():
            raise TrainingError(f"--resume: {path} does not exist; start without --resume")
        model, ckpt = load_checkpoint(path)
        own = self.model.config
        if (ckpt.config.method, ckpt.config.backbone, ckpt.config.embed_dim) != (own.method, own.backbone,
                                                                                   own.embed_dim):
            raise TrainingError(
                f"--resume: {path} holds a {ckpt.config.method} / {ckpt.config.backbone} model with "
                f"{ckpt.config.embed_dim}-d class vectors, this run is {own.method} / {own.backbone} with "
                f"{own.embed_dim}-d ones; resume with the run's own settings or start a new run folder"
            )
        try:
            self.model.load_state_dict(model.state_dict())
        except RuntimeError as exc:
            raise TrainingError(f"--resume: {path} does not fit this run's model ({str(exc).splitlines()[0]}); "
                                "start a new run folder") from exc
        if ckpt.optimizer_state:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        if ckpt.scheduler_state:
            self.scheduler.load_state_dict(ckpt.scheduler_state)
        if ckpt.rng_state is not None:
            torch.set_rng_state(ckpt.rng_state)
        self.step = int(ckpt.step)
        self.best_score = float((ckpt.extra or {}).get("best_score", -math.inf))

    # -- one step ---------------------------------------------------------------------------------
    def train_step(self) -> float:
        cfg = self.config
        batch = self.train_data.batch(self.step, cfg.batch_size, cfg.seed, self.rank, self.world)
        self.model.train()
        if cfg.freeze_backbone:  # a frozen backbone keeps its normalisation statistics too
            for backbone in self._backbones():
                backbone.eval()
        if self.method.episodic:
            # The episode is drawn from the *global* batch, so every rank scores the same classes.
            global_labels = self.train_data.batch(self.step, cfg.batch_size, cfg.seed).labels
            rng = np.random.default_rng([cfg.seed, self.step, 1])
            chosen = sample_episode(global_labels, self.seen, self.class_names, cfg.episode_classes, rng)
            emb = torch.stack([self.embeddings[c] for c in chosen]).to(self.device)
            logits, background = self.step_module(batch.images.to(self.device), emb)
            targets, valid = episode_targets(batch.labels.to(self.device), chosen)
            if not self.method.uses_words:  # class-agnostic (U-Net): one foreground map, any class is foreground
                logits, targets = logits[:, :1], targets.amax(dim=1, keepdim=True)
            if background is not None:  # joint softmax over background + the episode's classes
                columns = episode_columns(targets, valid)
                count = dist.global_count((columns != IGNORE_INDEX).sum(), self.world)
                loss = softmax_loss(logits, background, columns, normaliser=count)
            else:
                loss = relation_loss(logits, targets, valid, pos_weight=cfg.pos_weight,
                                     dice_weight=cfg.dice_weight,
                                     normaliser=dist.global_count(valid.sum() * len(chosen), self.world))
        else:
            images, matrix, targets = batch.images, self.seen_matrix, self.lut[batch.labels]
            if self.selftraining is not None:
                self.selftraining.ensure_round(self)
                images, targets = self.selftraining.batch(self)
                matrix = self.selftraining.matrix
            logits, background = self.step_module(images.to(self.device), matrix.to(self.device))
            targets = targets.to(self.device)
            count = dist.global_count((targets != IGNORE_INDEX).sum(), self.world)
            if self.method.loss == "cosine":
                loss = cosine_regression_loss(logits, background, targets, self.model.scale, normaliser=count)
            else:
                loss = softmax_loss(logits, background, targets, normaliser=count)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"the loss became {loss.item()} at step {self.step}; training stopped and the last good "
                f"checkpoint ({self.out / LAST}) was kept. Lower the learning rate (--lr) and resume."
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())

    # -- validation (seen classes only) -----------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict:
        """GZLSS metrics over background + seen classes on the validation split (no unseen pixel at all).

        Self-training scores every class there, unseen ones included: an unseen class predicted on a seen-class
        image is an error that lowers the seen classes' IoU, the only thing selection reads.
        """
        self.model.eval()
        names = [self.class_names[0]] + [self.class_names[c] for c in self.seen]
        matrix, unseen = self.seen_matrix, ()
        if self.selftraining is not None:
            names, matrix = self.selftraining.names(self), self.selftraining.matrix
            unseen = tuple(self.class_names[c] for c in self.unseen)
        evaluator = Evaluator(names, unseen=unseen, setting="gzlss", size_edges=None)
        for images, labels in self.val_data.eval_batches(self.config.batch_size):
            feats = self.model.encode(images.to(self.device))
            probs = predict_probabilities(self.model, feats, matrix.to(self.device), labels.shape[-2:])
            evaluator.add_scores(probs.cpu().numpy(), self.lut[torch.from_numpy(labels).long()].numpy())
        self.model.train()
        return evaluator.result()

    # -- the loop ---------------------------------------------------------------------------------
    def fit(self) -> Path:
        """Run to ``config.steps`` (or until stopped); returns the checkpoint to use (best on seen val)."""
        cfg = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            self.setup()
            if self.rank == 0:  # the encoder's source names its vector file by its absolute path (resume anywhere)
                saved = dataclasses.replace(cfg, embedding=self.encoder.source)
                atomic_write_text(self.out / "config.json", saved.to_json())
            self.emit(Started(str(self.out), cfg.method, cfg.steps, self.step, device=str(self.device)))
            self.reset_clock()
            while self.step < cfg.steps and not self.stop.is_set():
                loss = self.train_step()
                self.step += 1
                started, first = self.clock
                rate = (time.perf_counter() - started) / max(1, self.step - first)
                lr = self.optimizer.param_groups[0]["lr"]
                self.emit(StepDone(self.step, cfg.steps, loss, lr, rate * (cfg.steps - self.step)))
                for hook in self.hooks.on_step:
                    hook(self)
                if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                    self._eval_and_select()
                if self.step % cfg.checkpoint_every == 0:
                    self.save(LAST)
            self.save(LAST)
            if self.stop.is_set():
                self.emit(Finished("stopped", self.step, str(self.out / LAST)))
                return self.out / LAST
            self.after_training()
            best = RunFolder(self.out).checkpoint or self.out / LAST
            self.emit(Finished("done", self.step, str(best)))
            return best
        except ZerolabelError as exc:
            self.emit(Finished("failed", self.step, str(self.out / LAST), str(exc)))
            raise
        finally:
            dist.cleanup(self.world)

    def reset_clock(self) -> None:
        """Measure the speed (for the eta) from now on; after a pause the paused time does not count."""
        self.clock = (time.perf_counter(), self.step)

    def _eval_and_select(self) -> None:
        metrics = self.validate()
        score = float(metrics["seen"]["mIoU"] or 0.0)
        best = score > self.best_score
        if best:
            self.best_score = score
            self.save(BEST)
        self.emit(EvalDone(self.step, metrics, score, best))
        for hook in self.hooks.on_eval:
            hook(self, metrics)

    def after_training(self) -> None:
        """Method-specific stage after the network is trained (ZS3Net: generator + classifier refit)."""
        from training.zs3stage import fit_generator_stage

        if self.selftraining is not None or not self.method.generator_stage:  # self-training keeps its rows
            return
        fit_generator_stage(self)
