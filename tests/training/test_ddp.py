"""torchrun with 2 CPU processes (gloo) gives the same weights as one process with the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from core.models import load_checkpoint
from training.config import TrainConfig, preset
from training.trainer import LAST, Trainer


def test_two_gloo_processes_match_one_process(shapes: Path, tmp_path: Path) -> None:
    args = ["--method", "spnet", "--backbone", "tiny", "--data", str(shapes), "--steps", "3", "--batch-size", "4",
            "--image-size", "64",
            "--eval-every", "100", "--checkpoint-every", "3", "--lr", "0.01", "--optimizer", "sgd"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
         "-m", "training", "train", *args, "--out", str(tmp_path / "ddp")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    same = {**preset("fast", "spnet"), "backbone": "tiny", "pretrained": False, "steps": 3, "batch_size": 4,
            "image_size": 64, "eval_every": 100,
            "checkpoint_every": 3, "lr": 0.01, "optimizer": "sgd"}  # SGD: the update is linear in the gradient
    single = Trainer(TrainConfig(method="spnet", data=str(shapes), out=str(tmp_path / "one"), **same))
    single.fit()
    a = load_checkpoint(tmp_path / "ddp" / LAST)[0].state_dict()
    b = load_checkpoint(tmp_path / "one" / LAST)[0].state_dict()
    assert a.keys() == b.keys()
    for key in a:
        if a[key].is_floating_point() and "running" not in key:
            assert torch.allclose(a[key], b[key], atol=2e-5), key
