"""The zero-shot protocol as code: no unseen pixel reaches a loss, selection never reads unseen classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.data.base import IGNORE_INDEX
from core.data.layout import LayoutDataset
from core.data.zeroshot import ProtocolError
from training.config import TrainConfig
from training.data import TrainData
from training.episodes import episode_targets, sample_episode
from training.trainer import Trainer


def _other_unseen(ds: LayoutDataset) -> tuple[str, ...]:
    """Two seen classes that occur in training images: declaring them unseen makes the filter work."""
    return tuple(c for c in ds.classes[1:] if c not in ds.unseen)[:2]


def test_drop_view_batches_hold_no_unseen_pixel(shapes: Path) -> None:
    ds = LayoutDataset(shapes)
    unseen = _other_unseen(ds)
    data = TrainData(ds, "train", unseen=unseen, view="drop", size=64)
    assert 0 < len(data) < len(ds.ids("train"))  # some images were dropped
    idx = [ds.classes.index(c) for c in unseen]
    for step in range(30):
        labels = data.batch(step, 8, seed=0).labels.numpy()
        assert not np.isin(labels, idx).any()


def test_ignore_view_maps_unseen_pixels_to_ignore(shapes: Path) -> None:
    ds = LayoutDataset(shapes)
    unseen = _other_unseen(ds)
    data = TrainData(ds, "train", unseen=unseen, view="ignore", size=64)
    assert len(data) == len(ds.ids("train"))
    idx = [ds.classes.index(c) for c in unseen]
    raw = np.stack([ds.label(i) for i in ds.ids("train")])
    assert np.isin(raw, idx).any()
    assert not np.isin(np.stack(data.labels), idx).any()
    assert (np.stack(data.labels) == IGNORE_INDEX).sum() > (raw == IGNORE_INDEX).sum()


def test_episode_classes_are_seen_and_confusable_first(shapes: Path) -> None:
    ds = LayoutDataset(shapes)
    data = TrainData(ds, "train", size=64)
    rng = np.random.default_rng(0)
    for step in range(20):
        labels = data.batch(step, 4, seed=0).labels
        chosen = sample_episode(labels, data.seen_indices, ds.classes, 4, rng)
        assert set(chosen) <= set(data.seen_indices) and len(chosen) == len(set(chosen)) == 4
        present = [c for c in torch.unique(labels).tolist() if c in data.seen_indices]
        assert set(chosen[: min(4, len(present))]) <= set(present)
        targets, valid = episode_targets(labels, chosen)
        assert targets.shape == (4, 4, 64, 64)
        unselected = ~torch.isin(labels, torch.tensor([0, *chosen])) | (labels == IGNORE_INDEX)
        assert (valid[:, 0][unselected] == 0).all() and (valid[:, 0][~unselected] == 1).all()


def test_model_selection_reads_seen_classes_only(shapes: Path, tmp_path: Path) -> None:
    ds = LayoutDataset(shapes)
    cfg = TrainConfig(method="rn", data=str(shapes), out=str(tmp_path / "run"), image_size=64, steps=2,
                      batch_size=4, eval_every=2, checkpoint_every=2, eval_images=6)
    seen_metrics = []
    trainer = Trainer(cfg)
    trainer.hooks.on_eval.append(lambda t, m: seen_metrics.append(m))
    trainer.fit()
    assert seen_metrics
    unseen_idx = [ds.classes.index(c) for c in ds.unseen]
    for labels in trainer.val_data.labels:
        assert not np.isin(labels, unseen_idx).any()
    for metrics in seen_metrics:
        assert not set(metrics["per_class"]) & set(ds.unseen)
        assert metrics["unseen"]["mIoU"] is None
    with pytest.raises(ProtocolError):
        trainer.val_data.view.label(next(i for i in ds.ids("test")))
