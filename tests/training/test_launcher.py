"""Training in a separate process: JSON-line messages, cooperative cancel + resume, a killed trainer."""

from __future__ import annotations

from training.launcher import TrainProcess
from training.messages import Finished, Started, StepDone, from_json, to_json


def _args(shapes, out, steps):
    return ["--method", "rn", "--data", str(shapes), "--out", str(out), "--steps", str(steps), "--batch-size", "2",
            "--image-size", "32", "--eval-every", "1000", "--checkpoint-every", "1000"]


def test_messages_round_trip_through_json():
    for msg in (StepDone(3, 10, 0.5, 1e-3, 12.0), Finished("failed", 2, error="x\ny")):
        assert from_json(to_json(msg)) == msg
    assert from_json("Warning: something printed") is None


def test_cancel_stops_cooperatively_and_resume_finishes(shapes, tmp_path):
    run = tmp_path / "run"
    proc = TrainProcess(_args(shapes, run, 100_000))
    seen = []
    for msg in proc.messages():
        seen.append(msg)
        if isinstance(msg, StepDone) and msg.step >= 3:
            proc.cancel()
    assert isinstance(seen[0], Started) and seen[0].total_steps == 100_000
    last = seen[-1]
    assert isinstance(last, Finished) and last.status == "stopped" and last.step >= 3
    assert (run / "last.pt").is_file()
    resumed = TrainProcess([*_args(shapes, run, last.step + 2), "--resume"])
    msgs = list(resumed.messages())
    assert isinstance(msgs[0], Started) and msgs[0].step == last.step
    assert msgs[-1].status == "done" and msgs[-1].step == last.step + 2


def test_a_killed_trainer_reports_failure_instead_of_hanging(shapes, tmp_path):
    proc = TrainProcess(_args(shapes, tmp_path / "run", 100_000))
    for msg in proc.messages():
        if isinstance(msg, StepDone) and msg.step >= 2:
            proc.kill()
    assert proc.finished.status == "failed" and "exit code -9" in proc.finished.error


def test_from_the_desktop_bundle_the_trainer_is_a_full_install_on_path(monkeypatch, tmp_path):
    import sys

    import pytest

    from core.errors import ZerolabelError
    from training.launcher import trainer_command

    assert trainer_command() == [sys.executable, "-m", "training"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # what PyInstaller sets in the bundle
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ZerolabelError, match="training needs the full install"):
        trainer_command()
    full = tmp_path / "zerolabel"
    full.write_text("#!/bin/sh\n")
    full.chmod(0o755)
    assert trainer_command() == [str(full)]
