"""Run folders on disk: ``RUN/status.json`` says what a run is doing, so any process can list and resume runs.

The trainer process (``zerolabel train`` / ``selftrain``) records its own status while it runs; the app lists the
runs of a folder (its own and those started from the CLI) with :func:`list_runs`. Torch-free: the GUI imports it.

``status.json``: ``{"status": "running"|"stopped"|"done"|"failed", "step", "total_steps", "method", "pid",
"command": [...], "updated", "error"}``. A run whose status says ``running`` but whose process is gone was
interrupted (the app or the machine went down): :attr:`RunInfo.resumable` is true when it left ``last.pt``; if
that checkpoint holds the final step the run is done (its ONNX export is made when the app first uses it).

Which checkpoint a run folder means, whether its ONNX export is current and what its status is are decided once,
by :class:`RunFolder`; every command, the wizard, the Runs menu and the app's model loader ask it.

Example:
    >>> for run in list_runs("project/runs"):  # doctest: +SKIP
    ...     print(run.name, run.status, run.step, run.total_steps)
    >>> RunFolder("project/runs/rn").checkpoint  # doctest: +SKIP
    PosixPath('project/runs/rn/best.pt')
"""

from __future__ import annotations

import io
import json
import os
import pickle
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.annotation.store import pid_alive
from core.errors import ZerolabelError
from training.messages import CheckpointSaved, EvalDone, Finished, Message, Started, StepDone

STATUS = "status.json"
BEST, LAST = "best.pt", "last.pt"  # best: chosen on seen-class validation; last: where a resume continues
ONNX = "onnx"  # RUN/onnx: the run's model exported for the app and `predict`
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RunFolder:
    """A run folder of ``zerolabel train`` / ``selftrain`` / ``selftrain-photos``: the one owner of which checkpoint
    it means (``best.pt``, else ``last.pt``), whether ``RUN/onnx`` is current, and its status.

    Torch-free; only :meth:`model_folder` imports torch, and only when the export is missing or stale.
    """

    path: Path

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def best(self) -> Path:
        return self.path / BEST

    @property
    def last(self) -> Path:
        return self.path / LAST

    @property
    def onnx(self) -> Path:
        return self.path / ONNX

    @property
    def checkpoint(self) -> Path | None:
        """The checkpoint the run means: ``best.pt`` (chosen on seen validation classes) when the run wrote one,
        else ``last.pt`` (a run stopped before its first evaluation); ``None`` when it holds neither. A name that
        exists but is no regular file (a folder, a FIFO) is still chosen: loading it then says what is wrong."""
        return next((p for p in (self.best, self.last) if p.exists()), None)

    def require_checkpoint(self) -> Path:
        """:attr:`checkpoint`, or a :class:`ZerolabelError` saying the folder is no run folder."""
        path = self.checkpoint
        if path is None:
            raise ZerolabelError(f"{self.path} holds no {BEST} or {LAST}; is it a run folder of `zerolabel train`?")
        return path

    @property
    def started(self) -> bool:
        """A run was started here (a status file or a resumable checkpoint): a new run needs another folder."""
        return (self.path / STATUS).is_file() or self.last.is_file()

    @property
    def exported(self) -> bool:
        """The folder holds an ONNX export (``RUN/onnx``, or the folder itself is an exported model)."""
        return (self.onnx / MANIFEST).is_file() or (self.path / MANIFEST).is_file()

    def onnx_fresh(self, checkpoint: Path | None = None) -> bool:
        """``RUN/onnx`` exists and is not older than ``checkpoint`` (default: :attr:`checkpoint`)."""
        manifest = self.onnx / MANIFEST
        checkpoint = checkpoint or self.checkpoint
        if not manifest.is_file():
            return False
        return checkpoint is None or not checkpoint.is_file() or manifest.stat().st_mtime >= checkpoint.stat().st_mtime

    def model_folder(self, checkpoint: str | os.PathLike | None = None) -> Path:
        """The run's ONNX model folder, ``RUN/onnx``, exported again when it is missing or older than the checkpoint
        (``checkpoint``: a given file of this run, default :attr:`checkpoint`). Exporting needs torch."""
        ckpt = Path(checkpoint) if checkpoint is not None else self.require_checkpoint()
        if not self.onnx_fresh(ckpt):
            from core.inference.export import export_onnx  # imports torch: only when an export is due

            export_onnx(ckpt, self.onnx)
        return self.onnx

    def status(self) -> RunInfo | None:
        """What the run is doing (:func:`read_run`); ``None`` if the folder is no run folder."""
        return read_run(self.path)


def resolve_checkpoint(run: str | os.PathLike) -> Path:
    """A run folder's checkpoint (:attr:`RunFolder.checkpoint`, an error if none); a file as it is."""
    path = Path(run)
    return RunFolder(path).require_checkpoint() if path.is_dir() else path


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
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss), thinned; the curve so far

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def resumable(self) -> bool:
        """Stopped or interrupted with a checkpoint to continue from (a train run)."""
        return (self.status in ("stopped", "interrupted", "failed") and RunFolder(self.path).last.is_file()
                and self.command[:1] == ["train"])

    @property
    def usable(self) -> bool:
        """Has a checkpoint the app can load as its model."""
        return self.status == "done" and RunFolder(self.path).checkpoint is not None

    def describe(self) -> str:
        """One line for a list: ``name — method, status at step s of n``."""
        what = {"interrupted": "interrupted (the app or the trainer was closed)"}.get(self.status, self.status)
        if self.status == "done" and not RunFolder(self.path).exported:
            what = "done (exported to ONNX when first used)"
        steps = f" at step {self.step} of {self.total_steps}" if self.total_steps else ""
        when = time.strftime(" (%Y-%m-%d %H:%M)", time.localtime(self.updated)) if self.updated else ""
        return f"{self.name} — {self.method or '?'}, {what}{steps}{when}"


class _Stub(dict):
    """Stands in for every class a checkpoint's pickle names: nothing is imported or run while peeking."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def __setstate__(self, state) -> None:
        pass


class _Peek(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        return _Stub

    def persistent_load(self, pid):
        return None  # tensor storages stay in the zip, unread


def checkpoint_step(path: str | os.PathLike) -> int | None:
    """The training step a checkpoint holds, read without torch (``None`` if it is no readable checkpoint).

    A torch checkpoint is a zip whose ``data.pkl`` holds the payload dict; tensors live in other entries, so the
    pickle is small. Every class it names is replaced by a stub: peeking never imports or runs anything.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
            payload = _Peek(io.BytesIO(archive.read(name))).load()
        step = payload.get("step") if isinstance(payload, dict) else None
        return step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None
    except (OSError, StopIteration, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, TypeError, EOFError,
            AttributeError, IndexError, KeyError, RecursionError, MemoryError):
        return None


def _field(data: dict, key: str, kind: type, default):
    """``data[key]`` checked against ``kind`` (numbers: int or float, never bool), else a ValueError naming it."""
    value = data.get(key, default)
    kinds = (int, float) if kind is float else (kind,)
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kinds):
        raise ValueError(f"{key!r} is {value!r}, expected {'a number' if kind in (int, float) else kind.__name__}")
    if kind is list and not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key!r} must be a list of strings")
    return value


def read_run(path: str | os.PathLike) -> RunInfo | None:
    """The run in ``path``; ``None`` if it is no run folder. Runs from before status files: ``done``/``stopped``.

    The status follows the checkpoints: a run whose trainer is gone (the app was killed, the trainer could not
    report) but whose ``last.pt`` holds the last step is ``done``; otherwise it is ``interrupted`` at the step
    of its checkpoint. A ``status.json`` with wrong types reads as a ``failed`` run with a message saying which
    field, never as an exception.
    """
    path = Path(path)
    run = RunFolder(path)
    status_file = path / STATUS
    if status_file.is_file():
        try:
            data = json.loads(status_file.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, found {type(data).__name__}")
            status = _field(data, "status", str, None)
            pid, step, total = (int(_field(data, k, int, 0)) for k in ("pid", "step", "total_steps"))
            method, error = _field(data, "method", str, ""), _field(data, "error", str, "")
            command, updated = _field(data, "command", list, []), float(_field(data, "updated", float, 0.0))
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            return RunInfo(path, "failed", error=f"{status_file} is unreadable ({exc}); delete it and resume the "
                           "run from the command line, or start a new run", command=_command_from_config(path))
        if status in ("running", "stopped", "failed") and (status != "running" or not pid_alive(pid)):
            saved = checkpoint_step(run.last) if run.last.is_file() else None
            if saved is not None:
                step = saved
            if status == "running":
                status = "done" if total and saved is not None and saved >= total else "interrupted"
        return RunInfo(path, status, step, total, method, command, error, updated, _losses(data))
    if run.best.is_file() or (path / MANIFEST).is_file():
        return RunInfo(path, "done", updated=path.stat().st_mtime)
    if run.last.is_file():
        return RunInfo(path, "stopped", step=checkpoint_step(run.last) or 0,
                       command=_command_from_config(path), updated=path.stat().st_mtime)
    return None


def _command_from_config(path: Path) -> list[str]:
    """The ``train`` command that resumes a run written before status files, from its config.json."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        method, data = config["method"], config["data"]
        if not isinstance(method, str) or not isinstance(data, str) or not method or not data:
            return []
        return ["train", "--method", method, "--data", data, "--out", str(path)]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return []  # not resumable: nothing says how it was trained


MAX_CURVE = 1000  # points of the loss curve kept in status.json (every other one dropped beyond that)


def _losses(data: dict) -> list[tuple[int, float]]:
    """The ``losses`` of a status file as (step, loss) pairs; anything malformed is dropped, never raised."""
    raw = data.get("losses")
    if not isinstance(raw, list):
        return []
    pairs = [p for p in raw if isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) for v in p)]
    return [(int(a), float(b)) for a, b in pairs[-MAX_CURVE:]]


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
                           "command": list(command), "error": "", "losses": self._earlier_losses()}

    def _earlier_losses(self) -> list[list[float]]:
        """The curve of the run this one resumes (kept up to the step it resumes from, at :class:`Started`)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return []
        return [list(p) for p in _losses(data)] if isinstance(data, dict) else []

    def __call__(self, msg: Message) -> None:
        if isinstance(msg, StepDone):  # kept in memory; written with the next checkpoint, evaluation or end
            curve = self.data["losses"]
            curve.append([msg.step, msg.loss])
            if len(curve) > MAX_CURVE:
                del curve[::2]
            return
        if isinstance(msg, Started):
            self.data.update(status="running", step=msg.step, total_steps=msg.total_steps, method=msg.method)
            self.data["losses"] = [p for p in self.data["losses"] if p[0] <= msg.step]
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
