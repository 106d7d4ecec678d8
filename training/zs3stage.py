"""ZS3Net's second stage, after the segmentation network is trained: collect real seen-class features of the
training images (background and seen classes only: unseen pixels never become training data), train the GMMN
generator on them and refit the classifier on real seen + generated unseen features (``core.models.zs3net``).
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import torch

from core.models import load_checkpoint
from training.messages import Log

#: Copy of the best stage-1 checkpoint (before the generator and the refit), kept in the run folder.
STAGE1 = "stage1.pt"

if TYPE_CHECKING:
    from training.trainer import Trainer


def fit_generator_stage(trainer: Trainer) -> None:
    """ZS3Net: train the generator and refit the classifier for the unseen names (embeddings only)."""
    if not hasattr(trainer.model, "set_bank") or not trainer.unseen or trainer.rank != 0:
        return
    from core.models.zs3fit import collect_features, collect_graphs, fit_unseen
    from training.runs import BEST

    best, stage1 = trainer.out / BEST, trainer.out / STAGE1
    if trainer.resume and stage1.exists():  # stage 2 again (``--resume`` of a finished run): from stage 1
        model, _ = load_checkpoint(stage1)
        trainer.model.load_state_dict(model.state_dict())
    elif best.exists():
        model, _ = load_checkpoint(best)
        trainer.model.load_state_dict(model.state_dict())
        shutil.copyfile(best, stage1)  # the network before stage 2, to refit again later
    cfg = trainer.config
    trainer.emit(Log(f"training the feature generator ({cfg.gmmn_steps} steps) and refitting the classifier"))
    trainer.model.eval()
    allowed = [0, *trainer.seen]  # seen classes + background: unseen pixels never become training data
    seen_features: dict[int, list] = {}
    counts = dict.fromkeys(allowed, 0)  # training pixels per class: the refit's priors
    graphs: list | None = [] if cfg.method == "zs3net-gc" else None
    for images, labels in trainer.train_data.eval_batches(32):  # every training image, in order
        labels = torch.from_numpy(labels).long()
        if graphs is not None:  # segment graphs with each segment's real features (seen classes, no background)
            graphs += collect_graphs(trainer.model, images.to(trainer.device), labels.to(trainer.device),
                                     allowed=trainer.seen, seed=cfg.seed)
        found = collect_features(trainer.model, images.to(trainer.device), labels.to(trainer.device), allowed=allowed,
                                 max_per_class=200, counts=counts)
        for c, f in found.items():
            seen_features.setdefault(c, []).append(f.cpu())
    gen = torch.Generator().manual_seed(cfg.seed)
    seen_features = {c: torch.cat(f)[torch.randperm(sum(len(x) for x in f), generator=gen)[:3000]]
                     for c, f in seen_features.items()}
    trainer.model.cpu()  # the generator and the classifier refit are small: CPU
    fit_unseen(
        trainer.model,
        [trainer.class_names[c] for c in trainer.unseen],
        torch.stack([trainer.embeddings[c] for c in trainer.unseen]),
        seen_features,
        {c: trainer.embeddings[c] for c in trainer.seen},
        steps=cfg.gmmn_steps,
        seed=cfg.seed,
        graphs=graphs,
        priors={c: n / max(1, sum(counts.values())) for c, n in counts.items()},
    )
    trainer.model.to(trainer.device)
    trainer.save(BEST)
