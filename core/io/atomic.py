"""Atomic file writes: write a temporary file beside the target, fsync, then rename over it.

A crash (or a full disk) at any moment leaves either the old file or the new one, never half of one. Every
failure to write is a :class:`core.errors.WriteError` naming the target (never the temporary file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from core.errors import WriteError


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_MODE = _default_mode()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    Example:
        >>> with atomic_write("out.txt", "w") as f:  # doctest: +SKIP
        ...     f.write("hello")
    """
    target = Path(path)
    tmp = ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _MODE)  # mkstemp makes 0600 files; give the file the mode a plain open() would
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except WriteError:
        _remove_quietly(tmp)
        raise
    except OSError as exc:  # read-only folder, a file in the way, --json that is a folder, a full disk...
        _remove_quietly(tmp)
        raise WriteError(target, exc) from exc
    except BaseException:
        _remove_quietly(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def _remove_quietly(path: str) -> None:
    if not path:
        return
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def ensure_writable_folder(path: str | os.PathLike) -> Path:
    """Create ``path`` (and its parents) if needed and check a file can be written in it, before long work starts.

    Raises:
        WriteError: ``path`` is a file, or a folder one cannot write to (read-only, no permission), naming it.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise WriteError(folder, NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise WriteError(folder, exc) from exc
    return folder
