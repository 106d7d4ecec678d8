"""Training loop: exact resume, the non-finite guard, the CLI train -> eval round trip."""

from __future__ import annotations

import json
import queue
from pathlib import Path

import pytest
import torch

from cli.main import main
from core.metrics.report import check_contract
from core.models import load_checkpoint
from training.config import ConfigError, TrainConfig
from training.messages import Finished, Started
from training.trainer import LAST, Trainer, TrainingError


def _cfg(shapes: Path, out: Path, method: str = "rn", **kw) -> TrainConfig:
    base = dict(method=method, data=str(shapes), out=str(out), image_size=64, steps=6, batch_size=4,
                eval_every=100, checkpoint_every=3, eval_images=4, gmmn_steps=20)
    if method not in ("rn", "unet"):
        base.update(optimizer="sgd", lr=1e-2, lr_halve_every=0)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("method", ["rn", "spnet"])
def test_resume_continues_exactly(shapes: Path, tmp_path: Path, method: str) -> None:
    straight = Trainer(_cfg(shapes, tmp_path / "a", method))
    straight.fit()
    first = Trainer(_cfg(shapes, tmp_path / "b", method))  # same schedule, interrupted after step 3
    first.hooks.on_step.append(lambda t: t.step == 3 and t.stop.set())
    first.fit()
    assert first.step == 3
    resumed = Trainer(_cfg(shapes, tmp_path / "b", method), resume=True)
    resumed.fit()
    assert resumed.step == straight.step == 6
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), key


def test_non_finite_weights_stop_and_keep_last_good_checkpoint(shapes: Path, tmp_path: Path) -> None:
    trainer = Trainer(_cfg(shapes, tmp_path / "run", checkpoint_every=2, steps=10))

    def poison(t: Trainer) -> None:
        if t.step == 3:
            with torch.no_grad():
                next(t.model.parameters()).fill_(float("nan"))

    trainer.hooks.on_step.append(poison)
    with pytest.raises(TrainingError, match="lower the learning rate|Lower the learning rate"):
        trainer.fit()
    model, ckpt = load_checkpoint(tmp_path / "run" / LAST)
    assert ckpt.step == 2
    assert all(torch.isfinite(p).all() for p in model.state_dict().values() if p.is_floating_point())


def test_stop_flag_saves_and_reports_stopped(shapes: Path, tmp_path: Path) -> None:
    messages: queue.Queue = queue.Queue()
    trainer = Trainer(_cfg(shapes, tmp_path / "run", steps=50), messages)
    trainer.hooks.on_step.append(lambda t: t.step == 2 and t.stop.set())
    trainer.fit()
    _, ckpt = load_checkpoint(tmp_path / "run" / LAST)
    assert ckpt.step == 2
    sent = [messages.get() for _ in range(messages.qsize())]
    started = [m for m in sent if isinstance(m, Started)]
    assert len(started) == 1 and started[0].device == str(trainer.device) == "cpu"  # what the wizard shows
    assert isinstance(sent[-1], Finished) and sent[-1].status == "stopped"


def test_config_values_are_checked_where_the_config_is_made(shapes: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1"):
        _cfg(shapes, tmp_path, batch_size=0)
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        _cfg(shapes, tmp_path, lr=float("nan"))
    with pytest.raises(ConfigError, match="pretrained must be true or false"):
        _cfg(shapes, tmp_path, pretrained="yes")
    (tmp_path / "config.json").write_text(json.dumps({"method": "rn", "data": "d", "out": "o", "steps": "4"}))
    with pytest.raises(ConfigError, match=r"config\.json: steps must be an integer >= 1, got '4'"):
        TrainConfig.read(tmp_path / "config.json")
    assert TrainConfig.from_dict(json.loads(_cfg(shapes, tmp_path).to_json())) == _cfg(shapes, tmp_path)


def test_cli_train_then_eval_writes_contract_json(shapes: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--method", "rn", "--backbone", "tiny",
                 "--data", str(shapes), "--out", str(run), "--steps", "4",
                 "--batch-size", "4", "--image-size", "64", "--eval-every", "2"]) == 0
    assert (run / "best.pt").exists() and (run / "config.json").exists()
    out = tmp_path / "m.json"
    assert main(["eval", str(run), "--data", str(shapes), "--setting", "zlss", "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())
    check_contract(metrics)
    assert metrics["setting"] == "zlss" and metrics["unseen"]["mIoU"] is not None


def test_cli_reports_bad_method_option(shapes: Path, tmp_path: Path, capsys) -> None:
    code = main(["train", "--method", "rn", "--backbone", "tiny",
                 "--data", str(shapes), "--out", str(tmp_path / "r"), "--option", "x"])
    assert code == 2 and "KEY=VALUE" in capsys.readouterr().err


def test_pseudo_labels_keep_the_top_percent_of_each_unseen_class() -> None:
    import numpy as np

    from training.selftrain import pseudo_labels

    probs = np.zeros((3, 2, 5), np.float32)  # background, seen (1), unseen (2)
    probs[2, 0] = [0.9, 0.8, 0.7, 0.6, 0.1]
    probs[0, 0] = [0.1, 0.2, 0.3, 0.4, 0.9]
    probs[1, 1] = 1.0
    (label,) = pseudo_labels([probs], unseen_columns=[2], top_p=50)
    assert label[0].tolist() == [2, 2, 255, 255, 255] and (label[1] == 255).all()


def test_zs3net_trains_refits_and_selftrains(shapes: Path, tmp_path: Path, monkeypatch) -> None:
    run = tmp_path / "zs3"
    best = Trainer(_cfg(shapes, run, "zs3net", steps=4, eval_every=4, gmmn_steps=10)).fit()
    model, ckpt = load_checkpoint(best)
    assert len(model.class_embeddings) == len(ckpt.split["seen"]) + len(ckpt.split["unseen"])
    monkeypatch.chdir(tmp_path)  # relative paths are recorded absolute: the run resumes / lists from anywhere
    assert main(["selftrain", "zs3", "--unlabeled", str(shapes / "JPEGImages"), "--steps", "2", "--out", "zs5"]) == 0
    status = json.loads((tmp_path / "zs5" / "status.json").read_text())
    assert status["status"] == "done" and status["command"][1] == str(run.absolute())
    out = tmp_path / "m.json"
    assert main(["eval", str(tmp_path / "zs5"), "--data", str(shapes), "--json", str(out), "--limit", "3"]) == 0
    assert json.loads(out.read_text())["unseen"]["mIoU"] is not None


def test_train_and_eval_on_pascal_voc_files_with_a_paper_split(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from core.io.image import write_label_png

    voc = tmp_path / "VOCdevkit" / "VOC2012"
    rng = np.random.default_rng(0)
    ids = [f"2007_{i:06d}" for i in range(6)]
    for sid in ids:
        (voc / "JPEGImages").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (40, 52, 3), dtype=np.uint8)).save(voc / "JPEGImages" / f"{sid}.jpg")
        label = np.zeros((40, 52), np.uint8)
        label[5:20, 5:30] = rng.integers(1, 21)
        label[25:35, 10:40] = 16  # potted plant: unseen in voc_15_5
        write_label_png(voc / "SegmentationClass" / f"{sid}.png", label)
    sets = voc / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("\n".join(ids[:4]) + "\n")
    (sets / "val.txt").write_text("\n".join(ids[4:]) + "\n")
    run = tmp_path / "run"
    args = ["train", "--method", "rn", "--backbone", "tiny",
            "--data", f"voc:{tmp_path}", "--unseen", "split:voc_15_5", "--view",
            "ignore", "--steps", "2", "--batch-size", "2", "--image-size", "32", "--eval-every", "2", "--out",
            str(run)]
    assert main(args) == 0
    _, ckpt = load_checkpoint(run / "best.pt")
    assert ckpt.split["unseen"] == ["pottedplant", "sheep", "sofa", "train", "tvmonitor"]
    out = tmp_path / "m.json"
    assert main(["eval", str(run), "--data", f"voc:{tmp_path}", "--split", "val", "--setting", "zlss",
                 "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert set(metrics["per_class"]) <= {"background", "pottedplant", "sheep", "sofa", "train", "tvmonitor"}
    assert "pottedplant" in metrics["per_class"]


def test_papers_dataset_without_unseen_is_refused(tmp_path: Path, capsys) -> None:
    code = main(["train", "--method", "rn", "--backbone", "tiny",
                 "--data", f"voc:{tmp_path}", "--out", str(tmp_path / "r")])
    assert code == 2 and "split:voc_15_5" in capsys.readouterr().err


def test_init_fine_tunes_from_another_run(shapes: Path, tmp_path: Path, capsys) -> None:
    base = ["--data", str(shapes), "--batch-size", "2", "--image-size", "32", "--eval-every", "2"]
    assert main(["train", "--method", "rn", "--backbone", "tiny",
                 *base, "--out", str(tmp_path / "a"), "--steps", "4"]) == 0
    # lr 0: the fine-tuned run must hold exactly the donor's weights, all classes seen (--unseen "")
    assert main(["train", "--method", "rn", "--backbone", "tiny",
                 *base, "--out", str(tmp_path / "b"), "--steps", "2", "--lr", "0",
                 "--unseen", "", "--init", str(tmp_path / "a")]) == 0
    a, _ = load_checkpoint(tmp_path / "a" / "best.pt")
    b, ckpt = load_checkpoint(tmp_path / "b" / "best.pt")
    assert ckpt.split["unseen"] == []
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    code = main(["train", "--method", "spnet", "--backbone", "tiny",
                 *base, "--out", str(tmp_path / "c"), "--steps", "1",
                 "--init", str(tmp_path / "a")])
    assert code != 0 and "cannot start a spnet run" in capsys.readouterr().err


def test_freeze_backbone_refits_only_what_sits_on_the_backbone(shapes, tmp_path):
    from cli.main import main

    tiny = ["--batch-size", "2", "--image-size", "32", "--eval-every", "1000", "--checkpoint-every", "1000"]
    assert main(["train", "--method", "rn", "--backbone", "tiny",
                 "--data", str(shapes), "--out", str(tmp_path / "a"), "--steps", "2",
                 *tiny]) == 0
    assert main(["train", "--method", "rn", "--backbone", "tiny",
                 "--data", str(shapes), "--out", str(tmp_path / "b"), "--steps", "3",
                 "--init", str(tmp_path / "a"), "--freeze-backbone", *tiny]) == 0
    before = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["state_dict"]
    after = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["state_dict"]
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any(".backbone." in f".{k}" for k in changed)  # buffers (norm statistics) too
