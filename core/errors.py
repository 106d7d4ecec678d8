"""Errors a user can act on. Each message says what was wrong, with which file or word, and what to do."""

from __future__ import annotations


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
