"""Run folders on disk: ``RUN/status.json`` says what a run is doing, so any process can list and resume runs.

The trainer process (``zerolabel train`` / ``selftrain``) records its own status while it runs; the app lists the
runs of a folder (its own and those started from the CLI) with :func:`list_runs`. Torch-free: the GUI imports it.

``status.json``: ``{"status": "running"|"stopped"|"done"|"failed", "step", "total_steps", "method", "pid",
"command": [...], "updated", "error"}``. A run whose status says ``running`` but whose process is gone was
interrupted (the app or the machine went down): :attr:`RunInfo.resumable` is true when it left ``last.pt``.

Example:
    >>> for run in list_runs("project/runs"):  # doctest: +SKIP
    ...     print(run.name, run.status, run.step, run.total_steps)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from training.messages import CheckpointSaved, EvalDone, Finished, Message, Started

STATUS = "status.json"


@dataclass(frozen=True)
class RunInfo:
    """What :func:`read_run` knows of one run folder."""

    path: Path
    status: str  # running | stopped | interrupted | done | failed
    step: int = 0
    total_steps: int = 0
    method: str = ""
    command: list[str] = field(default_factory=list)
    error: str = ""
    updated: float = 0.0

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def resumable(self) -> bool:
        """Stopped or interrupted with a checkpoint to continue from (a train run)."""
        return (self.status in ("stopped", "interrupted", "failed") and (self.path / "last.pt").is_file()
                and self.command[:1] == ["train"])

    @property
    def usable(self) -> bool:
        """Has a checkpoint the app can load as its model."""
        return self.status == "done" and ((self.path / "best.pt").is_file() or (self.path / "last.pt").is_file())

    def describe(self) -> str:
        """One line for a list: ``name — method, status at step s of n``."""
        what = {"interrupted": "interrupted (the app or the trainer was closed)"}.get(self.status, self.status)
        steps = f" at step {self.step} of {self.total_steps}" if self.total_steps else ""
        when = time.strftime(" (%Y-%m-%d %H:%M)", time.localtime(self.updated)) if self.updated else ""
        return f"{self.name} — {self.method or '?'}, {what}{steps}{when}"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def read_run(path: str | os.PathLike) -> RunInfo | None:
    """The run in ``path``; ``None`` if it is no run folder. Runs from before status files: ``done``/``stopped``."""
    path = Path(path)
    status_file = path / STATUS
    if status_file.is_file():
        try:
            data = json.loads(status_file.read_text(encoding="utf-8"))
            status = str(data["status"])
        except (OSError, ValueError, KeyError, TypeError):
            return RunInfo(path, "failed", error=f"{status_file} is unreadable")
        if status == "running" and not _alive(int(data.get("pid", 0))):
            status = "interrupted"
        return RunInfo(path, status, int(data.get("step", 0)), int(data.get("total_steps", 0)),
                       str(data.get("method", "")), list(data.get("command", [])), str(data.get("error", "")),
                       float(data.get("updated", 0.0)))
    if (path / "best.pt").is_file() or (path / "manifest.json").is_file():
        return RunInfo(path, "done", updated=path.stat().st_mtime)
    if (path / "last.pt").is_file():
        return RunInfo(path, "stopped", command=_command_from_config(path), updated=path.stat().st_mtime)
    return None


def _command_from_config(path: Path) -> list[str]:
    """The ``train`` command that resumes a run written before status files, from its config.json."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        return ["train", "--method", str(config["method"]), "--data", str(config["data"]), "--out", str(path)]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # not resumable: nothing says how it was trained


def list_runs(folder: str | os.PathLike) -> list[RunInfo]:
    """Every run folder directly under ``folder``, the most recently updated first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    runs = [r for p in folder.iterdir() if p.is_dir() and (r := read_run(p)) is not None]
    return sorted(runs, key=lambda r: r.updated, reverse=True)


class StatusRecorder:
    """Keeps ``RUN/status.json`` up to date from a run's messages (called by the trainer process's printer)."""

    def __init__(self, out: str | os.PathLike, command: Sequence[str]) -> None:
        self.path = Path(out) / STATUS
        self.data: dict = {"status": "running", "step": 0, "total_steps": 0, "method": "", "pid": os.getpid(),
                           "command": list(command), "error": ""}

    def __call__(self, msg: Message) -> None:
        if isinstance(msg, Started):
            self.data.update(status="running", step=msg.step, total_steps=msg.total_steps, method=msg.method)
        elif isinstance(msg, CheckpointSaved | EvalDone):
            self.data["step"] = msg.step
        elif isinstance(msg, Finished):
            self.data.update(status=msg.status, step=msg.step, error=msg.error)
        else:
            return
        self.write()

    def write(self) -> None:
        from core.io.atomic import atomic_write_text

        self.data["updated"] = time.time()
        atomic_write_text(self.path, json.dumps(self.data, indent=2))
