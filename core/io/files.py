"""Which paths may be read as files: the one check before any reader opens a user's path.

A reader given ``/dev/zero`` would read forever, a FIFO would block ``open()`` until a writer comes, a folder
raises ``IsADirectoryError`` deep inside a library: :func:`regular_file` refuses each with a message that says
what the path is, before anything is opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import ZerolabelError


def regular_file(
    path: str | os.PathLike, what: str = "file", error: type[ZerolabelError] = ZerolabelError
) -> Path:
    """Return ``path`` (``~`` expanded) if it is a regular file (or a link to one), else raise ``error``.

    Args:
        path: the user's path.
        what: what the file is to the user, for the message (``"vector file"``, ``"checkpoint"``).
        error: the ZerolabelError subclass to raise (the caller's domain error).

    Example:
        >>> regular_file("/dev/zero", "vector file")
        Traceback (most recent call last):
        ...
        core.errors.ZerolabelError: the vector file /dev/zero is not a regular file (a character device); ...
    """
    file = Path(path).expanduser()
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        raise error(f"the {what} {file} does not exist; check the path") from None
    except NotADirectoryError:
        raise error(f"the {what} {file} does not exist (a part of its path is a file); check the path") from None
    except OSError as exc:
        raise error(f"the {what} {file} cannot be read ({exc.strerror or exc}); check the path and "
                    "its permissions") from None
    if stat.S_ISREG(mode):
        return file
    if stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISFIFO(mode):
        kind = "a named pipe"
    elif stat.S_ISCHR(mode):
        kind = "a character device"
    elif stat.S_ISBLK(mode):
        kind = "a block device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "a special file"
    raise error(f"the {what} {file} is not a regular file ({kind}); give the path of a file")
