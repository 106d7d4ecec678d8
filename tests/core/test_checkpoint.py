"""Checkpoints: a round trip restores the scores; every damaged or foreign file is a clear CheckpointError."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from core.models import CheckpointError, ModelConfig, build_model, load_checkpoint, save_checkpoint
from core.models.checkpoint import VERSION

SPLIT = {"seen": ["a"], "unseen": ["b"]}
RANDOM_BYTES = bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0)).tolist())


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", "tiny", 8, image_size=32)).eval()
    model.seen_classes = ["a"]
    path = save_checkpoint(tmp_path / "run" / "last.pt", model, embedding_source="glove50", split=SPLIT,
                           step=7, extra={"note": "x"})
    return path, model


def _edit(path: Path, **changes: object) -> None:
    """Rewrite a checkpoint with some top-level fields changed (as a foreign or newer writer would)."""
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, **changes}, path)


@pytest.mark.parametrize(("method", "options"), [("rn", {}), ("rn", {"word_module": "cnn"}),
                                                 ("rn", {"head": "deeplabv3"}), ("unet", {})])
def test_round_trip_gives_identical_scores(tmp_path: Path, method: str, options: dict) -> None:
    torch.manual_seed(1)
    model = build_model(ModelConfig(method, "tiny", 8, image_size=32, options=options)).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, embedding_source="glove50", split=SPLIT)
    loaded, ckpt = load_checkpoint(path)
    x, e = torch.randn(2, 3, 32, 32), F.normalize(torch.randn(3, 8), dim=1)
    with torch.no_grad():
        assert torch.equal(loaded.score(loaded.encode(x), e), model.score(model.encode(x), e))
    assert ckpt.config == model.config and not loaded.training and ckpt.version == VERSION


def test_round_trip_restores_the_model_and_its_context(saved) -> None:
    path, model = saved
    loaded, ckpt = load_checkpoint(path)
    x, e = torch.randn(1, 3, 32, 32), F.normalize(torch.randn(2, 8), dim=1)
    with torch.no_grad():
        assert torch.equal(loaded.score(loaded.encode(x), e), model.score(model.encode(x), e))
    assert (ckpt.step, ckpt.embedding_source, ckpt.split, ckpt.seen_classes) == (7, "glove50", SPLIT, ["a"])
    assert ckpt.extra == {"note": "x"} and loaded.seen_classes == ["a"] and ckpt.path == path
    assert not list(path.parent.glob("*.tmp*"))  # the atomic write left no temporary file


def test_training_state_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", "tiny", 8, image_size=32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    feats = model.encode(torch.randn(1, 3, 32, 32))  # a training step: the classes and the background relation
    (model.score(feats, torch.randn(2, 8)).mean() + model.background_score(feats).mean()).backward()
    opt.step()
    sched = torch.optim.lr_scheduler.StepLR(opt, 10)
    rng = torch.get_rng_state()
    path = save_checkpoint(tmp_path / "m.pt", model, embedding_source="glove50", split=SPLIT,
                           optimizer_state=opt.state_dict(), scheduler_state=sched.state_dict(),
                           rng_state=rng, extra={"best_score": -math.inf, "nested": {"k": [1, 2.5, None]}})
    _, ckpt = load_checkpoint(path)
    fresh = torch.optim.Adam(build_model(ModelConfig("rn", "tiny", 8, image_size=32)).parameters(), lr=1e-3)
    fresh.load_state_dict(ckpt.optimizer_state)
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert ckpt.scheduler_state == sched.state_dict() and torch.equal(ckpt.rng_state, rng)
    assert ckpt.extra["nested"] == {"k": [1, 2.5, None]}


def test_values_a_weights_only_load_cannot_read_are_refused_at_save_time(tmp_path: Path) -> None:
    model = build_model(ModelConfig("rn", "tiny", 8, image_size=32))
    with pytest.raises(TypeError, match=r"extra\['out'\] is a PosixPath"):
        save_checkpoint(tmp_path / "m.pt", model, embedding_source="g", split=SPLIT, extra={"out": tmp_path})
    with pytest.raises(TypeError, match="split must be a dict"):
        save_checkpoint(tmp_path / "m.pt", model, embedding_source="g", split=["a"])  # type: ignore[arg-type]
    assert not (tmp_path / "m.pt").exists()


def test_a_pretrained_config_loads_without_the_pretrained_weights(saved) -> None:
    # The saved weights replace ImageNet ones, so loading must not need them (tiny has none at all).
    path, model = saved
    payload = torch.load(path, weights_only=True)
    _edit(path, config={**payload["config"], "pretrained": True})
    loaded, ckpt = load_checkpoint(path)
    assert ckpt.config.pretrained and loaded.config.pretrained
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values(),
                                                    strict=True))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated or damaged"),
        (lambda p: p.write_bytes(p.read_bytes()[:100]), "truncated or damaged"),
        (lambda p: p.write_bytes(b"\x00garbage" * 100), "truncated or damaged"),
        (lambda p: p.write_bytes(RANDOM_BYTES), "truncated or damaged"),
        (lambda p: p.write_bytes(b""), "truncated or damaged"),
        (lambda p: torch.save({"weights": torch.zeros(3)}, p), "not a zerolabel checkpoint"),
        (lambda p: torch.save([1, 2, 3], p), "not a zerolabel checkpoint"),
        (lambda p: p.unlink(), "no such checkpoint"),
    ],
    ids=["half", "100-bytes", "garbage", "random-bytes", "empty", "plain-dict", "list", "missing"],
)
def test_damaged_files_are_clear_errors(saved, damage, message: str) -> None:
    path, _ = saved
    damage(path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_a_pickle_that_would_run_code_is_refused(saved) -> None:
    path, _ = saved
    torch.save({"format": "zerolabel-checkpoint", "payload": Path("x")}, path)  # not weights-only loadable
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_unknown_method_and_newer_format(saved) -> None:
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    _edit(path, config={**payload["config"], "method": "nope"})
    with pytest.raises(CheckpointError, match="unknown method 'nope'.*rn") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and "upgrade zerolabel" in str(info.value)
    _edit(path, config=payload["config"], version=VERSION + 1)
    with pytest.raises(CheckpointError, match="newer zerolabel.*upgrade"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: {"state_dict": {}}, "do not fit the rn model"),
        (lambda p: {"state_dict": {**p["state_dict"], "logit.bias": torch.zeros(2)}}, "do not fit"),
        (lambda p: {"config": {**p["config"], "embed_dim": 9}}, "do not fit"),
        (lambda p: {"config": {**p["config"], "future_field": 1}}, "model config does not fit"),
        (lambda p: {"config": {**p["config"], "options": {"head": "pspnet"}}}, "cannot be built.*pspnet"),
    ],
    ids=["empty-weights", "wrong-shape", "other-embed-dim", "unknown-config-field", "unbuildable"],
)
def test_weights_or_config_that_do_not_fit_are_clear_errors(saved, change, message: str) -> None:
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    _edit(path, **change(payload))
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_missing_fields_are_clear_errors(saved) -> None:
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    del payload["state_dict"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"lacks \['state_dict'\]"):
        load_checkpoint(path)
