"""The ``TextEncoder`` contract and the shared machinery of every provider (name rules, cache, checks).

Every encoder returns float32 ``[C, D]`` rows of unit length. An unknown word is never replaced by a zero vector:
``embed`` raises :class:`~core.errors.UnknownWordError` naming the word and the class, and ``missing`` reports the
unknown words per class without raising, so a GUI can mark them.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from core.embeddings.names import name_words, normalize_name
from core.errors import EmbeddingSourceError, UnknownWordError

#: What to do when a word has no vector (word-vector providers without subwords).
SUGGEST_SUBWORDS = "use fasttext:PATH (a .bin with subword vectors) or minilm, which embed any word"


@runtime_checkable
class TextEncoder(Protocol):
    """Turns class names into unit-length class embeddings.

    Example:
        >>> enc = build_encoder("glove50")  # doctest: +SKIP
        >>> enc.embed(["cat", "sea lion"]).shape  # doctest: +SKIP
        (2, 50)
    """

    @property
    def source(self) -> str:
        """A stable description of the vectors (recorded in checkpoints), e.g. ``"word2vec:/abs/path"``."""
        ...

    @property
    def dim(self) -> int:
        """The embedding dimension D."""
        ...

    def embed(self, names: Sequence[str]) -> np.ndarray:
        """float32 ``[C, D]``, L2-normalised rows; raises ``UnknownWordError`` for unknown words."""
        ...

    def missing(self, names: Sequence[str]) -> dict[str, list[str]]:
        """``{name: [unknown words]}`` for the names that cannot be embedded (empty when all can)."""
        ...


def as_name_list(names: Sequence[str] | str) -> list[str]:
    """Accept a single name or a sequence of names (a bare string is one name, not its characters)."""
    return [names] if isinstance(names, str) else list(names)


def l2_normalize(vector: np.ndarray, what: str) -> np.ndarray:
    """Return ``vector / |vector|`` as float32; raise if it is zero or not finite (never a silent zero)."""
    vector = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise EmbeddingSourceError(
            f"the vector for {what} is {'zero' if norm == 0.0 else 'not finite'}; "
            "the vector file or model is damaged or this entry is empty: re-create it or pick another provider"
        )
    return (vector / norm).astype(np.float32)


class BaseEncoder(abc.ABC):
    """Validates names, caches one unit vector per normalised phrase and stacks the result.

    Subclasses set ``source``, ``dim`` and ``provider`` and implement :meth:`_encode` and :meth:`_unknown`.
    """

    source: str
    dim: int
    #: Short provider label used in messages (``glove50``, ``word2vec``, ...).
    provider: str
    #: What a user can do when a word is unknown.
    suggestion: str = SUGGEST_SUBWORDS

    def __init__(self) -> None:
        self._cache: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={self.source!r}, dim={self.dim})"

    def embed(self, names: Sequence[str] | str) -> np.ndarray:
        """Embed class names as float32 ``[C, D]`` unit rows (cached per normalised name).

        Raises:
            ClassNameError: for an empty or whitespace-only name.
            UnknownWordError: naming the first word (and its class) that has no vector.
        """
        names = as_name_list(names)
        phrases = [normalize_name(name) for name in names]
        todo: dict[str, str] = {}
        for name, phrase in zip(names, phrases, strict=True):
            if phrase not in self._cache and phrase not in todo:
                todo[phrase] = name
        if todo:
            raw = self._encode(list(todo), list(todo.values()))
            for (phrase, name), row in zip(todo.items(), raw, strict=True):
                self._cache[phrase] = l2_normalize(row, f"class {name!r} ({self.source})")
        if not phrases:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[p] for p in phrases]).astype(np.float32, copy=False)

    def missing(self, names: Sequence[str] | str) -> dict[str, list[str]]:
        """Report the words each class name lacks, without raising.

        Returns:
            ``{name: [unknown words]}`` for every name that :meth:`embed` would refuse; an empty or
            whitespace-only name maps to ``[name]``. Names that can be embedded are left out.

        Example:
            >>> enc.missing(["cat", "zzyzx bird"])  # doctest: +SKIP
            {'zzyzx bird': ['zzyzx']}
        """
        report: dict[str, list[str]] = {}
        for name in as_name_list(names):
            try:
                words = name_words(name)
            except ValueError:
                report[str(name)] = [str(name)]
                continue
            phrase = " ".join(words)
            if phrase in self._cache:
                continue
            unknown = self._unknown(phrase, words)
            if unknown:
                report[name] = unknown
        return report

    def unknown_error(self, word: str, name: str) -> UnknownWordError:
        """The error for ``word`` of class ``name`` missing from this provider."""
        return UnknownWordError(word, name, self.source, self.suggestion)

    @abc.abstractmethod
    def _encode(self, phrases: list[str], names: list[str]) -> np.ndarray:
        """Raw (not yet normalised) ``[len(phrases), D]`` vectors; raise ``UnknownWordError`` on a gap."""

    @abc.abstractmethod
    def _unknown(self, phrase: str, words: list[str]) -> list[str]:
        """The words of ``phrase`` that have no vector (empty when the phrase can be embedded)."""


class WordVectorEncoder(BaseEncoder):
    """A provider with one vector per word: a class embedding is the sum of its word vectors.

    Subclasses implement :meth:`_word_vector` (``None`` for an unknown word). A zero word vector counts as
    unknown, so no class embedding is ever built from nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self._word_cache: dict[str, np.ndarray | None] = {}

    def word_vector(self, word: str) -> np.ndarray | None:
        """The raw float32 vector of one (already lower-cased) word, or ``None`` when it is unknown."""
        if word not in self._word_cache:
            vector = self._word_vector(word)
            if vector is not None:
                vector = np.asarray(vector, dtype=np.float32)
                if vector.shape != (self.dim,):
                    raise EmbeddingSourceError(
                        f"{self.source} returned a vector of shape {vector.shape} for {word!r}, expected "
                        f"({self.dim},); the vector file is damaged: re-create or re-import it"
                    )
                if not np.any(vector) or not np.all(np.isfinite(vector)):
                    vector = None
            self._word_cache[word] = vector
        return self._word_cache[word]

    def _encode(self, phrases: list[str], names: list[str]) -> np.ndarray:
        out = np.zeros((len(phrases), self.dim), dtype=np.float64)
        for i, (phrase, name) in enumerate(zip(phrases, names, strict=True)):
            for word in phrase.split(" "):
                vector = self.word_vector(word)
                if vector is None:
                    raise self.unknown_error(word, name)
                out[i] += vector
        return out

    def _unknown(self, phrase: str, words: list[str]) -> list[str]:
        return [w for w in dict.fromkeys(words) if self.word_vector(w) is None]

    @abc.abstractmethod
    def _word_vector(self, word: str) -> np.ndarray | None:
        """Look one word up in the underlying vectors."""
