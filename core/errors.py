"""Errors a user can act on. Each message says what was wrong, with which file or word, and what to do."""

from __future__ import annotations

import errno


class ZerolabelError(Exception):
    """Base class for every error zerolabel reports to a user (CLI prints the message, no traceback)."""


class ImageError(ZerolabelError):
    """An image file could not be decoded or is unsafe to decode."""


class DatasetError(ZerolabelError):
    """A dataset folder or one of its files does not follow the expected layout."""


class InvalidNameError(DatasetError, ValueError):
    """A class name or image id breaks the one naming rule of :mod:`core.data.names` (every stored format's)."""


class UnknownWordError(ZerolabelError):
    """A class name holds a word the text encoder has no vector for (and no subword fallback)."""

    def __init__(self, word: str, name: str, provider: str, suggestion: str) -> None:
        self.word = word
        self.name = name
        self.provider = provider
        super().__init__(
            f"the word {word!r} in class name {name!r} is not in the {provider} vocabulary; {suggestion}"
        )


class EmbeddingSourceError(ZerolabelError):
    """A word-vector file, attribute table or encoder model is missing or malformed."""


class WriteError(ZerolabelError, OSError):
    """A file or folder could not be written (read-only folder, a file where a folder should be, full disk...).

    Both a :class:`ZerolabelError` (the CLI prints it) and an :class:`OSError` (code that catches write failures
    as OSErrors keeps working); ``errno`` and ``filename`` are the cause's, ``str()`` is the message.
    """

    def __init__(self, path: object, cause: OSError) -> None:
        super().__init__(describe_os_error(cause, path, "write"))
        self.errno, self.strerror, self.filename = cause.errno, cause.strerror, str(path)

    def __str__(self) -> str:
        return str(self.args[0])


_ADVICE = {
    errno.EACCES: "choose a folder you may write to, or change its permissions",
    errno.EPERM: "choose a folder you may write to, or change its permissions",
    errno.EROFS: "the file system is read-only; choose a folder on a writable disk",
    errno.ENOSPC: "the disk is full; free some space and try again (the previous version of the file is untouched)",
    errno.EDQUOT: "the disk quota is exhausted; free some space and try again",
    errno.ENOTDIR: "a file is where a folder is needed; choose another path",
    errno.EISDIR: "it is a folder; give a file name instead",
    errno.EEXIST: "something of that name is in the way; choose another path",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
    errno.ENOENT: "a folder on the way does not exist; create it or choose another path",
}


def describe_os_error(exc: OSError, path: object = None, action: str = "use") -> str:
    """One line for an OSError: ``cannot ACTION PATH: reason; what to do`` (the path is the user's, not a
    temporary file's)."""
    where = path if path is not None else (exc.filename if exc.filename is not None else "")
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".").lower()
    advice = _ADVICE.get(exc.errno or 0, "check the path and try again")
    target = f" {where}" if where != "" else ""
    return f"cannot {action}{target}: {reason}; {advice}"
