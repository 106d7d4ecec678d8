"""A project's safety on disk: one writer at a time (a lock file), and multi-file changes as transactions.

**Lock.** ``ROOT/.zerolabel.lock`` holds the pid and host of the process that writes the project. A second opener
(another app instance, ``predict`` into the same folder) gets :class:`ProjectLocked` and opens read-only or stops.
A lock whose process is gone (same host) is stale and taken over; a lock from another host is honoured.

**Transaction.** A change that rewrites many files (removing or moving a class renumbers every label map) writes
the new versions into ``ROOT/.zerolabel-txn/`` first; only when all are written does it write the journal (the
commit point), then it moves them over the old files. :func:`recover` runs when a project is opened: a journal
left by a crash is completed; a half-written change without a journal is thrown away. Either way every label map
and ``project.json`` agree: all old, or all new.

Example:
    >>> with Transaction(root) as txn:  # doctest: +SKIP
    ...     txn.write_bytes("SegmentationClass/a.png", data)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

from core.errors import ZerolabelError
from core.io.atomic import atomic_write_text

LOCK = ".zerolabel.lock"
TXN = ".zerolabel-txn"
JOURNAL = "journal.json"

_held: set[str] = set()  # tokens of the locks this process holds
_held_guard = threading.Lock()


class ProjectLocked(ZerolabelError):
    """Another process (or another window of this one) is writing the project."""

    def __init__(self, message: str, holder: dict) -> None:
        super().__init__(message)
        self.holder = holder


def pid_alive(pid: int) -> bool:
    """A process ``pid`` runs on this machine (a zombie, exited but not reaped, does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not reaped yet) holds nothing
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _read_holder(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stale(holder: dict | None, path: Path) -> bool:
    if holder is None:  # unreadable: a writer that died between creating and filling the file
        try:
            return time.time() - path.stat().st_mtime > 5
        except OSError:
            return True
    pid, host, token = holder.get("pid"), holder.get("host"), holder.get("token")
    if host != socket.gethostname() or not isinstance(pid, int):
        return False  # another machine's lock (a shared folder): only its owner or the user can clear it
    if pid == os.getpid():
        with _held_guard:
            return token not in _held  # this process, but not a lock it holds now (a pid reused after a crash)
    return not pid_alive(pid)


def acquire_lock(root: str | os.PathLike, purpose: str = "zerolabel") -> str:
    """Take the project's lock; returns the token :func:`release_lock` needs.

    Raises:
        ProjectLocked: a live process holds it (the message names it and says what to do).
    """
    path = Path(root) / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "token": uuid.uuid4().hex,
          "by": purpose}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_holder(path)
            if _stale(holder, path):
                path.unlink(missing_ok=True)
                continue
            holder = holder or {}
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(holder.get("started", 0) or 0))
            raise ProjectLocked(
                f"{Path(root)} is being written by {holder.get('by', 'another program')} (pid {holder.get('pid')} "
                f"on {holder.get('host')}, since {since}); close it first, or delete {path} if that program is no "
                "longer running", holder) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(me))
        with _held_guard:
            _held.add(me["token"])
        return me["token"]
    raise ProjectLocked(f"{path}: could not take the lock (it keeps changing); try again", {})


def release_lock(root: str | os.PathLike, token: str) -> None:
    """Drop the lock if it is still ours (a lock taken over by someone else is left alone)."""
    path = Path(root) / LOCK
    holder = _read_holder(path)
    if holder is not None and holder.get("token") == token:
        path.unlink(missing_ok=True)
    with _held_guard:
        _held.discard(token)


class Transaction:
    """New versions of several files, written aside and switched in together (see the module docstring)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.folder = self.root / TXN
        self.moves: list[tuple[str, str]] = []

    def __enter__(self) -> Transaction:
        recover(self.root)  # never start over a pending change
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        return self

    def path_for(self, target: str) -> Path:
        """Where to write the new version of ``target`` (a path relative to the project root)."""
        aside = self.folder / f"{len(self.moves)}{Path(target).suffix}"
        self.moves.append((aside.name, target))
        return aside

    def write_text(self, target: str, text: str) -> None:
        self.path_for(target).write_text(text, encoding="utf-8")

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:  # nothing was switched: throw the new versions away
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        try:
            atomic_write_text(self.folder / JOURNAL, json.dumps({"moves": self.moves}))  # the commit point
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        recover(self.root)


def recover(root: str | os.PathLike) -> str:
    """Finish or undo a change a crash interrupted; returns ``"completed"``, ``"rolled back"`` or ``""``."""
    root = Path(root)
    folder = root / TXN
    if not folder.is_dir():
        return ""
    journal = folder / JOURNAL
    if not journal.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        return "rolled back"
    moves = json.loads(journal.read_text(encoding="utf-8"))["moves"]
    for aside, target in moves:
        source, dest = folder / aside, root / target
        if source.is_file():  # already moved when missing (a crash part-way through the switch)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, dest)
    journal.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    return "completed"
