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
