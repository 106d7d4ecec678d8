"""``word2vec:PATH`` and ``fasttext:PATH``: word vectors read with gensim or the fastText library.

* word2vec ``.bin`` (binary) or ``.txt`` (text, header ``count dim``), through gensim's
  ``KeyedVectors.load_word2vec_format``; the format is detected from the file's first bytes.
* fastText ``.bin`` through the ``fasttext`` library: words outside the vocabulary get the mean of their
  character n-gram vectors (subwords), exactly as fastText computes them. A fastText ``.vec`` is plain text
  without subwords, so unknown words are an error there.

Files of several GB load slowly and fill memory; import them once into the store (``store:NAME``).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from core.embeddings.base import SUGGEST_SUBWORDS, WordVectorEncoder
from core.embeddings.formats import FASTTEXT_MAGIC, detect_format
from core.errors import EmbeddingSourceError
from core.io.files import regular_file

_LOAD_ERRORS = (ValueError, UnicodeDecodeError, EOFError, OSError, IndexError, RuntimeError)


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """Absolute path of an existing regular file, or an error naming it (never opens a FIFO or a device)."""
    return regular_file(Path(path).expanduser().resolve(), what, EmbeddingSourceError)


def load_keyed_vectors(file: Path, kind: str):  # -> gensim KeyedVectors (gensim imported lazily)
    """Load a word2vec-format file (binary or text) with gensim."""
    from gensim.models import KeyedVectors

    binary = detect_format(kind, file) == "word2vec-bin"
    try:
        return KeyedVectors.load_word2vec_format(str(file), binary=binary)
    except _LOAD_ERRORS as exc:
        raise EmbeddingSourceError(
            f"{file} is not a readable word2vec {'binary' if binary else 'text'} file ({exc}); "
            "check the file, or export it again with gensim's save_word2vec_format"
        ) from exc


class Word2VecEncoder(WordVectorEncoder):
    """Word vectors from a word2vec ``.bin`` / ``.txt`` file (case-sensitive vocabularies are looked up
    lower-cased, as the class-name rule says).

    Example:
        >>> enc = Word2VecEncoder("GoogleNews-vectors-negative300.bin")  # doctest: +SKIP
        >>> enc.embed(["dining table"]).shape  # doctest: +SKIP
        (1, 300)
    """

    provider = "word2vec"

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = existing_file(path, "word2vec file")
        self.source = f"word2vec:{self.path}"
        self.kv = load_keyed_vectors(self.path, "word2vec")
        self.dim = int(self.kv.vector_size)
        self.suggestion = SUGGEST_SUBWORDS

    def _word_vector(self, word: str) -> np.ndarray | None:
        index = self.kv.key_to_index.get(word)
        return None if index is None else self.kv.vectors[index]


class FastTextEncoder(WordVectorEncoder):
    """fastText vectors: a ``.bin`` model (subword vectors for unknown words) or a ``.vec`` text file.

    Example:
        >>> enc = FastTextEncoder("cc.en.300.bin")  # doctest: +SKIP
        >>> enc.missing(["zebrafinch"])  # doctest: +SKIP
        {}
    """

    provider = "fasttext"

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = existing_file(path, "fastText file")
        self.source = f"fasttext:{self.path}"
        with open(self.path, "rb") as handle:
            magic = int.from_bytes(handle.read(4), "little", signed=True)
        self.model = None
        self.kv = None
        if magic == FASTTEXT_MAGIC:
            self.model = _load_fasttext_model(self.path)
            self.dim = int(self.model.get_dimension())
            self.suggestion = "the word has no character n-grams in this fastText model; use minilm"
        else:
            if self.path.suffix == ".bin":
                raise EmbeddingSourceError(
                    f"{self.path} is not a fastText model (no fastText magic number); "
                    "for a word2vec .bin use word2vec:PATH"
                )
            self.kv = load_keyed_vectors(self.path, "fasttext")
            self.dim = int(self.kv.vector_size)
            self.suggestion = (
                "a fastText .vec file has no subword vectors: use the model's .bin (fasttext:FILE.bin) or minilm"
            )

    def _word_vector(self, word: str) -> np.ndarray | None:
        if self.model is not None:
            return self.model.get_word_vector(word)  # zero (= unknown) when no n-gram exists
        index = self.kv.key_to_index.get(word)
        return None if index is None else self.kv.vectors[index]


def _load_fasttext_model(file: Path):  # -> fasttext.FastText._FastText
    import fasttext

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # load_model prints a deprecation notice
            return fasttext.load_model(str(file))
    except _LOAD_ERRORS as exc:
        raise EmbeddingSourceError(
            f"{file} could not be read as a fastText model ({exc}); download or export the .bin again"
        ) from exc
