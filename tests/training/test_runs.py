"""Run folders on disk: status.json, interrupted runs, runs from before status files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from training.runs import STATUS, list_runs, read_run


def _status(folder, **data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATUS).write_text(json.dumps(data))


def test_a_running_status_whose_process_is_gone_reads_as_interrupted(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _status(tmp_path / "a", status="running", pid=dead.pid, step=40, total_steps=100, method="rn",
            command=["train", "--method", "rn", "--data", "D", "--out", str(tmp_path / "a")], updated=2.0)
    (tmp_path / "a" / "last.pt").write_bytes(b"x")
    _status(tmp_path / "b", status="running", pid=os.getpid(), command=["train"], updated=1.0)
    (tmp_path / "b" / "last.pt").write_bytes(b"x")
    a, b = list_runs(tmp_path)  # the most recently updated first
    assert (a.name, a.status, a.step, a.resumable, a.usable) == ("a", "interrupted", 40, True, False)
    assert "interrupted" in a.describe() and "step 40 of 100" in a.describe()
    assert b.status == "running" and not b.resumable  # this very process: alive, so not to be resumed


def test_runs_from_before_status_files_and_broken_status_files(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "last.pt").write_bytes(b"x")
    (old / "config.json").write_text(json.dumps({"method": "spnet", "data": "/data/shapes"}))
    run = read_run(old)
    assert run.status == "stopped" and run.resumable
    assert run.command == ["train", "--method", "spnet", "--data", "/data/shapes", "--out", str(old)]
    (old / "config.json").unlink()
    assert not read_run(old).resumable  # nothing says how to continue it
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "best.pt").write_bytes(b"x")
    assert read_run(tmp_path / "done").usable
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / STATUS).write_text("{not json")
    broken = read_run(tmp_path / "junk")
    assert broken.status == "failed" and STATUS in broken.error
    (tmp_path / "dataset").mkdir()
    assert read_run(tmp_path / "dataset") is None


def _checkpoint(path, step, method="rn"):
    import torch

    from core.models import ModelConfig, build_model, save_checkpoint

    model = build_model(ModelConfig(method, "tiny", 8, image_size=32))
    save_checkpoint(path, model, embedding_source="glove50", split={"seen": ["a"], "unseen": ["b"]}, step=step,
                    optimizer_state=torch.optim.Adam(model.parameters()).state_dict(), rng_state=torch.get_rng_state())


def test_status_follows_the_checkpoint_when_the_trainer_could_not_report(tmp_path):
    from training.runs import checkpoint_step

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    command = ["train", "--method", "rn", "--data", "D", "--out", str(tmp_path / "a")]
    _status(tmp_path / "a", status="running", pid=dead.pid, step=0, total_steps=400, method="rn", command=command)
    _checkpoint(tmp_path / "a" / "last.pt", 400)
    assert checkpoint_step(tmp_path / "a" / "last.pt") == 400
    run = read_run(tmp_path / "a")  # the trainer finished; the app that should have recorded it was gone
    assert (run.status, run.step, run.usable) == ("done", 400, True)
    assert "step 400 of 400" in run.describe() and "exported to ONNX when first used" in run.describe()
    _checkpoint(tmp_path / "a" / "last.pt", 250)  # cut off half-way: resumable from the checkpoint's step
    run = read_run(tmp_path / "a")
    assert (run.status, run.step, run.resumable) == ("interrupted", 250, True)
    (tmp_path / "a" / "last.pt").write_bytes(b"PK\x03\x04 truncated")
    assert checkpoint_step(tmp_path / "a" / "last.pt") is None and read_run(tmp_path / "a").step == 0


def test_wrong_types_in_status_and_config_read_as_a_clear_failure(tmp_path):
    cases = [{"status": "running", "pid": "abc"}, {"status": "done", "step": [1]}, {"status": 3},
             {"status": "stopped", "command": "train --method rn"}, ["status"], {"status": "done", "updated": "x"},
             {"status": "running", "total_steps": True}]
    for n, data in enumerate(cases):
        folder = tmp_path / f"r{n}"
        folder.mkdir()
        (folder / STATUS).write_text(json.dumps(data))
        run = read_run(folder)
        assert run.status == "failed" and STATUS in run.error and "unreadable" in run.error, data
        assert run.describe() and not run.resumable
    old = tmp_path / "old"
    old.mkdir()
    (old / "last.pt").write_bytes(b"x")
    for config in ({"method": ["rn"], "data": "D"}, {"method": "rn", "data": {"a": 1}}, ["rn"], {"method": "rn"}):
        (old / "config.json").write_text(json.dumps(config))
        assert read_run(old).command == [] and not read_run(old).resumable
    assert len(list_runs(tmp_path)) == len(cases) + 1


def test_the_loss_curve_is_kept_in_the_status_and_survives_a_resume(tmp_path):
    """status.json keeps the (thinned) curve; a resumed run keeps it up to the step it resumes from."""
    from training.messages import CheckpointSaved, Started, StepDone
    from training.runs import MAX_CURVE, StatusRecorder, read_run

    first = StatusRecorder(tmp_path, ["train"])
    first(Started(run_dir=str(tmp_path), method="rn", total_steps=10, step=0))
    for step in range(1, 7):
        first(StepDone(step, 10, 1.0 / step, 1e-3, 0.0))
    first(CheckpointSaved(step=4, path=str(tmp_path / "last.pt")))  # steps 5-6 came after: lost with the process
    assert [s for s, _ in read_run(tmp_path).losses] == [1, 2, 3, 4, 5, 6]
    again = StatusRecorder(tmp_path, ["train"])
    again(Started(run_dir=str(tmp_path), method="rn", total_steps=10, step=4))
    again(StepDone(5, 10, 0.5, 1e-3, 0.0))
    again(CheckpointSaved(step=5, path=str(tmp_path / "last.pt")))
    assert read_run(tmp_path).losses == [(1, 1.0), (2, 0.5), (3, 1 / 3), (4, 0.25), (5, 0.5)]
    for step in range(6, 6 + 3 * MAX_CURVE):
        again(StepDone(step, 10, 0.1, 1e-3, 0.0))
    again(CheckpointSaved(step=step, path=str(tmp_path / "last.pt")))
    curve = read_run(tmp_path).losses
    steps = [s for s, _ in curve]
    assert len(curve) <= MAX_CURVE and steps[-1] >= step - 2 and steps[0] <= 64 and steps == sorted(set(steps))
    (tmp_path / "status.json").write_text('{"status": "stopped", "losses": [[1, "x"], "y", [2, 0.5]]}')
    assert read_run(tmp_path).losses == [(2, 0.5)]


def test_a_run_folder_means_best_else_last_and_says_when_it_has_neither(tmp_path):
    import pytest

    from core.errors import ZerolabelError
    from training.runs import RunFolder, resolve_checkpoint

    run = RunFolder(tmp_path)
    assert run.checkpoint is None and not run.started
    with pytest.raises(ZerolabelError, match="holds no best.pt or last.pt"):
        resolve_checkpoint(tmp_path)
    (tmp_path / "last.pt").write_bytes(b"x")
    assert run.checkpoint == tmp_path / "last.pt" and run.started  # stopped before its first evaluation
    (tmp_path / "best.pt").write_bytes(b"x")
    assert run.checkpoint == resolve_checkpoint(tmp_path) == tmp_path / "best.pt"  # chosen on seen validation
    assert resolve_checkpoint(tmp_path / "last.pt") == tmp_path / "last.pt"  # a file is taken as given


def test_the_onnx_export_is_made_again_when_the_checkpoint_is_newer(tmp_path):
    from training.runs import RunFolder

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    _checkpoint(run.best, 3, "spnet")
    assert not run.onnx_fresh() and not run.exported
    folder = run.model_folder()
    manifest = folder / "manifest.json"
    assert folder == run.onnx and manifest.is_file() and run.onnx_fresh() and run.exported
    before = manifest.stat().st_mtime_ns
    assert run.model_folder() == folder and manifest.stat().st_mtime_ns == before  # fresh: not exported again
    earlier = run.best.stat().st_mtime - 10
    os.utime(manifest, (earlier, earlier))  # a resumed run wrote a better checkpoint after the export
    assert not run.onnx_fresh()
    run.model_folder()
    assert run.onnx_fresh() and manifest.stat().st_mtime > earlier
