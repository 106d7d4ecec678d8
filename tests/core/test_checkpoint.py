"""Checkpoints: a round trip restores the scores; every damaged or foreign file is a clear CheckpointError."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.models import CheckpointError, ModelConfig, build_model, load_checkpoint, save_checkpoint

SPLIT = {"seen": ["a"], "unseen": ["b"]}


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", "tiny", 8, image_size=32)).eval()
    model.seen_classes = ["a"]
    path = save_checkpoint(tmp_path / "run" / "last.pt", model, embedding_source="glove50", split=SPLIT, step=7,
                           extra={"note": "x"})
    return path, model


def test_round_trip_restores_the_model_and_its_context(saved) -> None:
    path, model = saved
    loaded, ckpt = load_checkpoint(path)
    x, e = torch.randn(1, 3, 32, 32), torch.nn.functional.normalize(torch.randn(2, 8), dim=1)
    with torch.no_grad():
        assert torch.equal(loaded.score(loaded.encode(x), e), model.score(model.encode(x), e))
    assert (ckpt.step, ckpt.embedding_source, ckpt.split, ckpt.seen_classes) == (7, "glove50", SPLIT, ["a"])
    assert not list(path.parent.glob("*.tmp*"))  # the atomic write left no temporary file


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated or damaged"),
        (lambda p: p.write_bytes(b"\x00garbage" * 100), "truncated or damaged"),
        (lambda p: torch.save({"weights": torch.zeros(3)}, p), "not a zerolabel checkpoint"),
        (lambda p: p.unlink(), "no such checkpoint"),
    ],
)
def test_damaged_files_are_clear_errors(saved, damage, message: str) -> None:
    path, _ = saved
    damage(path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_unknown_method_and_newer_format(saved) -> None:
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "config": {**payload["config"], "method": "nope"}}, path)
    with pytest.raises(CheckpointError, match="unknown method 'nope'"):
        load_checkpoint(path)
    torch.save({**payload, "version": 99}, path)
    with pytest.raises(CheckpointError, match="newer zerolabel"):
        load_checkpoint(path)
    torch.save({**payload, "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)
