"""The on-disk vector store: huge word-vector files converted once, opened in milliseconds later.

Layout of ``<store_dir>/<name>/`` (written by :func:`core.embeddings.store_import.import_vectors`)::

    vectors.npy    float32 [rows, dim], memory-mapped (fastText: word rows, then the subword buckets)
    words.bin      the vocabulary, UTF-8 bytes back to back; word i is words[offsets[i]:offsets[i+1]]
    offsets.npy    int64 [count + 1]
    hashes.npy     uint64 [count], the FNV-1a 64 hash of every word, sorted
    hash_rows.npy  int64 [count], the word (= matrix row) of each sorted hash
    meta.json      written last: kind, dim, count, rows, source file (size + mtime), file sizes, subword settings

A lookup binary-searches the memory-mapped hashes (about log2(count) page reads) and confirms the hit against
the word bytes, so the first vector of a 3M-word store costs milliseconds and never loads the vocabulary.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from core.embeddings.base import WordVectorEncoder
from core.embeddings.hashing import fnv1a64, ft_subword_rows
from core.errors import EmbeddingSourceError

STORE_FORMAT = "zerolabel-vectors"
STORE_VERSION = 1
META_FILE = "meta.json"
MATRIX_FILE = "vectors.npy"


def default_store_dir() -> Path:
    """``$ZEROLABEL_HOME/embeddings``, else ``~/.local/share/zerolabel/embeddings``."""
    home = os.environ.get("ZEROLABEL_HOME")
    if home:
        return Path(home).expanduser() / "embeddings"
    return Path.home() / ".local" / "share" / "zerolabel" / "embeddings"


def resolve_store_path(name: str, store_dir: str | os.PathLike | None = None) -> Path:
    """The folder of store ``name`` (a bare name inside the store dir, or a path to a store folder)."""
    if "/" in name or os.sep in name:
        return Path(name).expanduser().resolve()
    base = Path(store_dir).expanduser() if store_dir else default_store_dir()
    return (base / name).resolve()


class VocabIndex:
    """Word -> row lookup over sorted 64-bit hashes (memory-mapped or in memory), confirmed by the word bytes."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, hashes: np.ndarray, rows: np.ndarray) -> None:
        self.blob, self.offsets, self.hashes, self.rows = blob, offsets, hashes, rows

    def __len__(self) -> int:
        return len(self.hashes)

    def find(self, word: str) -> int | None:
        """The row of ``word`` (the first one when the file repeats a word), or ``None``."""
        data = word.encode("utf-8")
        h = np.uint64(fnv1a64(data))
        pos = int(np.searchsorted(self.hashes, h, side="left"))
        while pos < len(self.hashes) and self.hashes[pos] == h:
            row = int(self.rows[pos])
            start, end = int(self.offsets[row]), int(self.offsets[row + 1])
            if self.blob[start:end].tobytes() == data:
                return row
            pos += 1
        return None


def _corrupt(path: Path, what: str) -> EmbeddingSourceError:
    return EmbeddingSourceError(
        f"the vector store {path} is corrupt or was only partly imported ({what}); "
        "run `zerolabel embeddings import` for it again"
    )


def read_meta(path: Path) -> dict:
    """Read and check ``meta.json`` and the size of every file it lists."""
    if not path.is_dir():
        siblings = sorted(p.name for p in path.parent.glob("*") if (p / META_FILE).is_file())
        have = f"stores there: {', '.join(siblings)}" if siblings else "no stores there yet"
        raise EmbeddingSourceError(
            f"no vector store {path.name!r} in {path.parent} ({have}); import one with "
            f"`zerolabel embeddings import KIND FILE --name {path.name}`"
        )
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise _corrupt(path, "meta.json is missing, so the import never finished")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _corrupt(path, f"meta.json is unreadable: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT or meta.get("version") != STORE_VERSION:
        raise _corrupt(path, f"meta.json is not a {STORE_FORMAT} v{STORE_VERSION} description")
    problem = _meta_problem(meta)
    if problem:
        raise _corrupt(path, f"meta.json: {problem}")
    for name, size in meta.get("files", {}).items():
        file = path / name
        actual = file.stat().st_size if file.is_file() else None
        if actual != size:
            got = "missing" if actual is None else f"{actual} bytes"
            raise _corrupt(path, f"{name} is {got}, expected {size} bytes")
    return meta


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _meta_problem(meta: dict) -> str:
    """What is wrong with the types of a store's meta.json (an edited or damaged file), or ``""``."""
    for key in ("count", "dim", "rows"):
        if not _count(meta.get(key)):
            return f"{key!r} is {meta.get(key)!r}, not a count"
    if not isinstance(meta.get("kind"), str):
        return f"'kind' is {meta.get('kind')!r}, not a text"
    files = meta.get("files", {})
    if not isinstance(files, dict) or not all(
        isinstance(n, str) and "/" not in n and "\\" not in n and not n.startswith(".") and _count(v)
        for n, v in files.items()
    ):
        return "'files' must map plain file names in the store to sizes"
    external = meta.get("matrix")
    if external and not (isinstance(external, dict) and isinstance(external.get("path"), str)
                         and _count(external.get("size")) and _count(external.get("mtime_ns"))):
        return "'matrix' must give the external matrix's path, size and mtime_ns"
    if meta.get("subwords") is not None and not isinstance(meta["subwords"], dict):
        return "'subwords' must be an object"
    return ""


def matrix_path(path: Path, meta: dict) -> Path:
    """Where the store's float32 matrix lives (its own ``vectors.npy`` or an external, checked file)."""
    external = meta.get("matrix")
    if not external:
        return path / MATRIX_FILE
    target = Path(external["path"])
    stat = target.stat() if target.is_file() else None
    if stat is None or stat.st_size != external["size"] or stat.st_mtime_ns != external["mtime_ns"]:
        raise _corrupt(path, f"its matrix {target} is missing or changed since the index was built")
    return target


class VectorStore:
    """A read-only, memory-mapped store opened from its folder.

    Example:
        >>> store = VectorStore.open(default_store_dir() / "GoogleNews")  # doctest: +SKIP
        >>> store.vector("cat").shape  # doctest: +SKIP
        (300,)
    """

    def __init__(self, path: Path, meta: dict, matrix: np.ndarray, index: VocabIndex) -> None:
        self.path, self.meta, self.matrix, self.index = path, meta, matrix, index
        self.name = path.name
        self.kind: str = meta["kind"]
        self.dim: int = int(meta["dim"])
        self.count: int = int(meta["count"])
        self.subwords: dict | None = meta.get("subwords")

    @classmethod
    def open(cls, path: str | os.PathLike) -> VectorStore:
        """Open and validate a store folder (raises ``EmbeddingSourceError`` with what to do)."""
        path = Path(path).expanduser().resolve()
        meta = read_meta(path)
        try:
            matrix = np.load(matrix_path(path, meta), mmap_mode="r")
            offsets = np.load(path / "offsets.npy", mmap_mode="r")
            hashes = np.load(path / "hashes.npy", mmap_mode="r")
            rows = np.load(path / "hash_rows.npy", mmap_mode="r")
            blob = np.memmap(path / "words.bin", dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise _corrupt(path, f"a file cannot be read: {exc}") from exc
        count, dim = int(meta["count"]), int(meta["dim"])
        expected = {
            "vectors": (matrix.shape, (int(meta["rows"]), dim)),
            "offsets": (offsets.shape, (count + 1,)),
            "hashes": (hashes.shape, (count,)),
            "hash_rows": (rows.shape, (count,)),
        }
        for what, (shape, want) in expected.items():
            if tuple(shape) != want:
                raise _corrupt(path, f"{what} has shape {tuple(shape)}, expected {want}")
        if matrix.dtype != np.float32 or int(offsets[-1]) != len(blob):
            raise _corrupt(path, "the matrix is not float32 or the word offsets do not match words.bin")
        return cls(path, meta, matrix, VocabIndex(blob, offsets, hashes, rows))

    def row_ids(self, word: str) -> list[int]:
        """Matrix rows whose mean is the vector of ``word`` (fastText: word row + subwords; may be empty)."""
        row = self.index.find(word)
        ids = [] if row is None else [row]
        if self.subwords:
            sw = self.subwords
            ids += ft_subword_rows(word, sw["minn"], sw["maxn"], sw["bucket"], sw["nwords"])
        return ids

    def vector(self, word: str) -> np.ndarray | None:
        """The float32 vector of ``word`` (fastText subword mean for OOV words), or ``None``."""
        ids = self.row_ids(word)
        if not ids:
            return None
        if len(ids) == 1:
            return np.array(self.matrix[ids[0]], dtype=np.float32)
        rows = np.asarray(self.matrix[np.asarray(ids)], dtype=np.float32)
        return rows.sum(axis=0, dtype=np.float32) * np.float32(1.0 / len(ids))


class StoreEncoder(WordVectorEncoder):
    """``store:NAME``: word vectors from an imported store (subword vectors when it came from a fastText .bin).

    Example:
        >>> enc = StoreEncoder("GoogleNews")  # doctest: +SKIP
        >>> enc.embed(["sea lion"]).shape  # doctest: +SKIP
        (1, 300)
    """

    provider = "store"

    def __init__(self, name: str, store_dir: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.store = VectorStore.open(resolve_store_path(name, store_dir))
        self.dim = self.store.dim
        in_default = self.store.path.parent == default_store_dir().resolve()
        self.source = f"store:{self.store.name}" if in_default else f"store:{self.store.path}"
        if self.store.subwords:
            self.suggestion = "the word has no character n-grams in this fastText model; use minilm"
        else:
            self.suggestion = (
                "import a fastText .bin (kind fasttext, subword vectors) and use store:NAME, or use minilm"
            )

    def _word_vector(self, word: str) -> np.ndarray | None:
        return self.store.vector(word)
