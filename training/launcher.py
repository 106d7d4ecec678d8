"""Run ``zerolabel train`` in a separate process and read its typed messages (the app's way to train).

The trainer process prints one JSON message per line (``--messages jsonl``); :class:`TrainProcess` decodes them.
A crash of the trainer never takes the caller down: its exit code and the tail of its stderr come back in a
``Finished("failed", ...)`` message. :meth:`TrainProcess.cancel` asks for a cooperative stop (SIGTERM: the
trainer writes ``last.pt`` and ends with status ``stopped``; ``--resume`` continues it later).

Example:
    >>> proc = TrainProcess(["--method", "rn", "--data", "shapes", "--out", "runs/rn"])  # doctest: +SKIP
    >>> for msg in proc.messages():  # doctest: +SKIP
    ...     print(msg)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence

from core.errors import ZerolabelError
from training.messages import Finished, Log, Message, from_json


def trainer_command() -> list[str]:
    """How to start the trainer: this interpreter's ``-m training``; from the desktop bundle (which has no torch)
    the ``zerolabel`` command of a full install on PATH.

    Raises:
        ZerolabelError: the bundle found no full install to train with.
    """
    if not getattr(sys, "frozen", False):
        return [sys.executable, "-m", "training"]
    found = shutil.which("zerolabel")
    if found is None:
        raise ZerolabelError("training needs the full install (torch is not in the desktop bundle): run "
                             "`pipx install zerolabel` (or `pip install zerolabel`) so that `zerolabel` is on PATH")
    return [found]


class TrainProcess:
    """One trainer child process: ``zerolabel COMMAND ARGS --messages jsonl`` (``train`` or ``selftrain``)."""

    def __init__(self, train_args: Sequence[str], env: dict[str, str] | None = None, command: str = "train") -> None:
        self.args = [*trainer_command(), command, *train_args, "--messages", "jsonl"]
        self.paused = False
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                        bufsize=1, env={**os.environ, **(env or {})})
        self.finished: Finished | None = None

    def messages(self) -> Iterator[Message]:
        """Yield messages until the process ends; the last one is always a :class:`Finished`."""
        for line in self.process.stdout:
            msg = from_json(line)
            if msg is None:
                if line.strip():
                    yield Log(line.rstrip())
                continue
            if isinstance(msg, Finished):
                self.finished = msg
            yield msg
        code = self.process.wait()
        if self.finished is None or code != 0:
            self._stderr.seek(0)
            tail = self._stderr.read().decode(errors="replace").strip().splitlines()[-15:]
            error = "\n".join(tail) or f"the trainer exited with code {code}"
            step = self.finished.step if self.finished else 0
            self.finished = Finished("failed", step, error=f"exit code {code}: {error}")
            yield self.finished

    def pause(self) -> None:
        """Suspend the trainer between two instructions (SIGSTOP); :meth:`unpause` continues it."""
        if self.process.poll() is None and not self.paused:
            self.process.send_signal(signal.SIGSTOP)
            self.paused = True

    def unpause(self) -> None:
        if self.process.poll() is None and self.paused:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def cancel(self) -> None:
        """Cooperative stop: the trainer saves ``last.pt`` and ends with status ``stopped``."""
        if self.process.poll() is None:
            self.unpause()  # a stopped process cannot act on SIGTERM
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
