"""Nothing loads a pickle from a user file: a checkpoint whose unpickling would create a file is refused, through
every entry point that reads checkpoints, and the file is never created; the sources hold no unsafe loader."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from core.inference.runtime import ModelFolderError, OnnxModel
from core.models import CheckpointError, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


class Evil:
    """Unpickling this calls open(marker, "w"): the file appears if anything unpickles it unsafely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _evil_checkpoint(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": "zerolabel-checkpoint", "version": 1, "config": Evil(marker), "state_dict": {}}, path)
    return path


def test_the_evil_pickle_really_runs_code_when_loaded_unsafely(tmp_path: Path) -> None:
    marker = tmp_path / "pwned-control"
    path = _evil_checkpoint(tmp_path / "control.pt", marker)
    torch.load(path, weights_only=False)  # the control: an unsafe load does create the file
    assert marker.exists()


@pytest.mark.parametrize("entry", ["load_checkpoint", "eval", "predict", "export-onnx", "train --resume",
                                   "train --init"])
def test_a_malicious_checkpoint_is_refused_and_runs_nothing(entry: str, tmp_path: Path, cli, tiny_shapes) -> None:
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    best = _evil_checkpoint(run / "best.pt", marker)
    shutil.copy(best, run / "last.pt")
    train = ["train", "--method", "rn", "--backbone", "tiny",
             "--data", tiny_shapes, "--steps", "1", "--batch-size", "2", "--image-size",
             "32"]
    if entry == "load_checkpoint":
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_checkpoint(best)
    else:
        argv = {
            "eval": ["eval", run, "--data", tiny_shapes],
            "predict": ["predict", run, tiny_shapes / "JPEGImages", "--classes", "cat", "--out", tmp_path / "out"],
            "export-onnx": ["export-onnx", run, "--out", tmp_path / "onnx"],
            "train --resume": [*train, "--out", run, "--resume"],
            "train --init": [*train, "--out", tmp_path / "new", "--init", run],
        }[entry]
        result = cli(argv)
        assert result.code == 2 and len(result.error_lines) == 1, result.err
        assert "best.pt" in result.error_lines[0] or "last.pt" in result.error_lines[0], result.err
    assert not marker.exists(), f"{entry} unpickled the checkpoint: it ran code"


def test_a_pickled_numpy_bank_in_a_model_folder_is_refused(tmp_path: Path, demo_model_copy: Path) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "model"
    shutil.copytree(demo_model_copy, folder)
    buffer = io.BytesIO()
    np.save(buffer, np.array([Evil(marker)], dtype=object), allow_pickle=True)
    (folder / "bank_embeddings.npy").write_bytes(buffer.getvalue())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(scorer_inputs="rows", bank={"embeddings": "bank_embeddings.npy"})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFolderError, match="bank"):
        OnnxModel(folder, device="cpu")
    assert not marker.exists()


def test_peeking_at_a_run_s_step_runs_nothing(tmp_path: Path) -> None:
    """The app reads a run's step from last.pt without torch (training.runs.checkpoint_step): its unpickler turns
    every class into an inert stub, so a malicious checkpoint is read as data and nothing runs."""
    from training.runs import checkpoint_step

    marker = tmp_path / "pwned"
    path = tmp_path / "last.pt"
    torch.save({"format": "zerolabel-checkpoint", "step": 7, "config": Evil(marker), "extra": [Evil(marker)]}, path)
    assert checkpoint_step(path) == 7
    assert not marker.exists()


#: Files allowed to import pickle, and why (each has a test above showing that it runs nothing).
RESTRICTED_UNPICKLERS = {"training/runs.py": "a pickle.Unpickler whose find_class returns an inert stub"}

UNSAFE = [
    (re.compile(r"torch\.load\((?![^)]*weights_only=True)"), "torch.load without weights_only=True"),
    (re.compile(r"^\s*(import pickle|from pickle|import dill|import joblib|import cloudpickle|import shelve)", re.M),
     "a pickle module"),
    (re.compile(r"allow_pickle\s*=\s*True"), "np.load(allow_pickle=True)"),
    (re.compile(r"yaml\.load\((?![^)]*SafeLoader)|yaml\.unsafe_load"), "an unsafe YAML load"),
    (re.compile(r"\bread_pickle\(|torch\.jit\.load\("), "pandas / TorchScript unpickling"),
]


def test_no_source_file_unpickles_user_data() -> None:
    found = []
    for folder in ("core", "training", "gui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for pattern, what in UNSAFE:
                for match in pattern.finditer(text):
                    if what == "a pickle module" and path.relative_to(ROOT).as_posix() in RESTRICTED_UNPICKLERS:
                        continue
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not found, "\n".join(found)
    assert "weights_only=True" in (ROOT / "core" / "models" / "checkpoint.py").read_text()
