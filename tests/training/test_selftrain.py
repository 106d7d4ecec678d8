"""Self-training (ZS5Net) as a mode of the Trainer: pseudo-labels per round, resume, seen-only selection."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import pytest

from core.errors import ZerolabelError
from core.models import load_checkpoint
from training.config import TrainConfig
from training.messages import Log
from training.selftrain import PSEUDO, selftrain, selftrain_config
from training.trainer import Hooks, Trainer


@pytest.fixture(scope="module")
def zs3(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("zs3") / "run"
    cfg = TrainConfig(method="zs3net", data=str(shapes), out=str(run), steps=4, eval_every=4, gmmn_steps=10,
                      batch_size=4, image_size=64)
    Trainer(cfg).fit()
    return run


def test_selftraining_pseudo_labels_unseen_classes_and_keeps_them_in_the_model(zs3: Path, shapes: Path,
                                                                               tmp_path: Path) -> None:
    messages: queue.Queue = queue.Queue()
    best = selftrain(zs3, shapes / "JPEGImages", tmp_path / "zs5", steps=2, rounds=2, messages=messages)
    logs = [m.text for m in list(messages.queue) if isinstance(m, Log)]
    assert [t.split(":")[0] for t in logs if t.startswith("round")] == ["round 1/2", "round 2/2"]
    with np.load(tmp_path / "zs5" / PSEUDO) as data:
        assert int(data["round"]) == 1
        labels = [data[k] for k in data.files if k != "round"]
    _, donor = load_checkpoint(zs3 / "best.pt")
    seen, unseen = len(donor.split["seen"]), len(donor.split["unseen"])
    values = set(np.unique(np.concatenate([lab.ravel() for lab in labels])).tolist())
    assert values <= {255, *range(seen + 1, seen + unseen + 1)}  # pseudo-labels name unseen columns only
    model, ckpt = load_checkpoint(best)
    assert len(model.class_names) == seen + unseen and ckpt.split == donor.split
    assert TrainConfig.read(tmp_path / "zs5" / "config.json").unlabeled == str(shapes / "JPEGImages")


def test_a_stopped_selftraining_resumes_with_the_same_pseudo_labels(zs3: Path, shapes: Path, tmp_path: Path) -> None:
    cfg = selftrain_config(zs3, shapes / "JPEGImages", tmp_path / "zs5", steps=2, rounds=2)
    stop = threading.Event()
    hooks = Hooks(on_step=[lambda t: stop.set() if t.step == 3 else None])
    Trainer(cfg, stop=stop, hooks=hooks).fit()
    pseudo = tmp_path / "zs5" / PSEUDO
    written = pseudo.stat().st_mtime_ns
    assert (tmp_path / "zs5" / "last.pt").exists()
    _, last = load_checkpoint(tmp_path / "zs5" / "last.pt")
    assert last.step == 3
    best = Trainer(cfg, resume=True).fit()
    assert pseudo.stat().st_mtime_ns == written  # round 2's pseudo-labels were read back, not recomputed
    assert load_checkpoint(tmp_path / "zs5" / "last.pt")[1].step == 4 and best.exists()


def test_a_relation_network_run_cannot_selftrain(shapes: Path, tmp_path: Path) -> None:
    run = tmp_path / "rn"
    Trainer(TrainConfig(method="rn", data=str(shapes), out=str(run), steps=1, eval_every=1, batch_size=2,
                        image_size=32)).fit()
    with pytest.raises(ZerolabelError, match="self-training .* needs a spnet, devise, zs3net"):
        selftrain(run, shapes / "JPEGImages", tmp_path / "out", steps=1)


def test_an_empty_unlabeled_folder_is_a_clear_error(zs3: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZerolabelError, match="empty"):
        selftrain(zs3, tmp_path / "empty", tmp_path / "out", steps=1)
