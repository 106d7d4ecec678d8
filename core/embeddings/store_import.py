"""One-time conversion of word-vector files into the memory-mapped store (see :mod:`core.embeddings.store`).

An import is written into a hidden staging folder ``<store_dir>/.<name>.importing-*``; every file goes through
:func:`core.io.atomic.atomic_write`, ``meta.json`` is written last and the folder is renamed into place only
when it is complete, so a crash or a full disk never leaves a store that looks finished.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.embeddings.formats import READERS, Chunk, Header, Progress, detect_format
from core.embeddings.hashing import fnv1a64_many
from core.embeddings.store import META_FILE, STORE_FORMAT, STORE_VERSION, default_store_dir
from core.errors import EmbeddingSourceError, WriteError
from core.io.atomic import atomic_write, atomic_write_text, ensure_writable_folder
from core.io.files import regular_file

KINDS = ("word2vec", "fasttext", "glove")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMPRESSED = {".gz": "gunzip", ".bz2": "bunzip2", ".xz": "unxz", ".zip": "unzip"}


def import_vectors(
    kind: str,
    path: str | os.PathLike,
    name: str | None = None,
    store_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> Path:
    """Convert a word-vector file into ``<store_dir>/<name>/`` once; ``store:NAME`` then opens it instantly.

    Args:
        kind: ``word2vec`` (``.bin`` or text), ``fasttext`` (``.bin`` with subwords, or ``.vec`` text) or
            ``glove`` (text without a header line).
        path: the vector file.
        name: store name (default: the file name without its extension).
        store_dir: default ``$ZEROLABEL_HOME/embeddings`` or ``~/.local/share/zerolabel/embeddings``.
        progress: called as ``progress(bytes_done, bytes_total)`` while the file is read.

    Returns:
        The store folder.

    Example:
        >>> import_vectors("word2vec", "GoogleNews-vectors-negative300.bin", name="GoogleNews")  # doctest: +SKIP
        PosixPath('/home/me/.local/share/zerolabel/embeddings/GoogleNews')
    """
    if kind not in KINDS:
        raise EmbeddingSourceError(f"unknown vector kind {kind!r}; use one of {', '.join(KINDS)}")
    source = regular_file(Path(path).expanduser().resolve(), "vector file", EmbeddingSourceError)
    if source.suffix in _COMPRESSED:
        raise EmbeddingSourceError(
            f"{source} is compressed; run `{_COMPRESSED[source.suffix]} {source.name}` and import the result"
        )
    name = name or re.sub(r"[^A-Za-z0-9._-]+", "-", source.stem).lstrip(".-_") or "vectors"
    check_store_name(name)
    reader = detect_format(kind, source)
    header, chunks = READERS[reader](source, progress)
    if header.rows <= 0 or header.dim <= 0:
        raise EmbeddingSourceError(f"{source} holds no vectors (header says {header.rows} x {header.dim})")
    base = Path(store_dir).expanduser() if store_dir else default_store_dir()
    with staging(base, name) as tmp:
        blob, offsets = _write_matrix(tmp / "vectors.npy", header, chunks, source)
        meta = {
            "name": name,
            "kind": kind,
            "reader": reader,
            "dim": header.dim,
            "count": header.count,
            "rows": header.rows,
            "subwords": header.subwords,
            "source": file_identity(source),
        }
        write_store_files(tmp, blob, offsets, meta)
    return base / name


def check_store_name(name: str) -> None:
    """Refuse names that are not a plain folder name."""
    if not _NAME.match(name):
        raise EmbeddingSourceError(
            f"the store name {name!r} is not allowed; use letters, digits, '.', '_' and '-' only"
        )


def file_identity(path: Path) -> dict:
    """Path, size and modification time: what tells a later run that a source file changed."""
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@contextlib.contextmanager
def staging(store_dir: Path, name: str) -> Iterator[Path]:
    """A hidden folder to write a store into; renamed to ``store_dir/name`` only if the block succeeds."""
    ensure_writable_folder(store_dir)  # a read-only store or a file in the way: named, not the staging folder
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.importing-", dir=store_dir))
    except OSError as exc:
        raise WriteError(store_dir, exc) from exc
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = store_dir / name
    old = None
    if final.exists() or final.is_symlink():
        old = store_dir / f".{name}.old-{os.getpid()}-{time.time_ns()}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_matrix(target: Path, header: Header, chunks: Iterator[Chunk], source: Path) -> tuple[bytes, np.ndarray]:
    """Stream the rows into ``target`` (.npy) and gather the vocabulary (blob + offsets)."""
    parts: list[bytes] = []
    lengths: list[np.ndarray] = []
    rows = 0
    with atomic_write(target, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f4", "fortran_order": False, "shape": (header.rows, header.dim)}
        )
        for chunk in chunks:
            block = np.ascontiguousarray(chunk.vectors, dtype="<f4")
            if block.ndim != 2 or block.shape[1] != header.dim:
                raise EmbeddingSourceError(f"{source}: a block of rows is not {header.dim} wide")
            handle.write(block.tobytes())
            rows += len(block)
            parts.append(b"".join(chunk.words))
            lengths.append(np.fromiter((len(w) for w in chunk.words), dtype=np.int64, count=len(chunk.words)))
    if rows != header.rows:
        raise EmbeddingSourceError(f"{source} holds {rows} rows, its header says {header.rows}; it is damaged")
    offsets = np.zeros(header.count + 1, dtype=np.int64)
    all_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    if len(all_lengths) != header.count:
        raise EmbeddingSourceError(f"{source} holds {len(all_lengths)} words, expected {header.count}")
    np.cumsum(all_lengths, out=offsets[1:])
    return b"".join(parts), offsets


def write_store_files(tmp: Path, blob: bytes, offsets: np.ndarray, meta: dict) -> None:
    """Write the vocabulary and its hash index into ``tmp``, then ``meta.json`` (last)."""
    blob_array = np.frombuffer(blob, dtype=np.uint8)
    hashes = fnv1a64_many(blob_array, offsets)
    order = np.argsort(hashes, kind="stable")  # equal hashes keep file order: the first duplicate wins
    with atomic_write(tmp / "words.bin") as handle:
        handle.write(blob)
    for file, array in (("offsets.npy", offsets), ("hashes.npy", hashes[order]), ("hash_rows.npy", order)):
        with atomic_write(tmp / file) as handle:
            np.save(handle, np.ascontiguousarray(array))
    files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if not p.name.startswith(".")}
    full = {
        "format": STORE_FORMAT,
        "version": STORE_VERSION,
        **meta,
        "files": files,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(tmp / META_FILE, json.dumps(full, indent=2) + "\n")


def build_index_store(
    store_dir: Path, name: str, blob: bytes, offsets: np.ndarray, matrix: Path, meta: dict
) -> Path:
    """A store whose matrix is an existing ``.npy`` file (only the vocabulary index is written)."""
    check_store_name(name)
    with staging(store_dir, name) as tmp:
        write_store_files(tmp, blob, offsets, {"name": name, **meta, "matrix": file_identity(matrix)})
    return store_dir / name
