"""Streaming readers of word-vector files, for the one-time import into the store.

Each reader memory-maps the file and yields :class:`Chunk` s (words as UTF-8 bytes plus a float32 block), so a
3M x 300 file is converted without holding it in memory twice. Formats:

* word2vec binary (``.bin``): ``"count dim\\n"`` then per row ``word + b" " + dim float32`` (an optional
  ``b"\\n"`` before the next word, as Google's word2vec writes it).
* text (``.txt`` / ``.vec``): an optional ``"count dim"`` header, then ``word v1 ... vD`` per line (GloVe's
  files have no header).
* fastText ``.bin`` (format version 12): the args, the dictionary, then the input matrix of
  ``nwords + bucket`` rows (word rows, then subword buckets).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import EmbeddingSourceError
from core.io.files import regular_file

Progress = Callable[[int, int], None]
CHUNK_ROWS = 65536
FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSION = 12
_FT_ARGS = struct.Struct("<12id")  # dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t


@dataclass(frozen=True)
class Chunk:
    """Consecutive rows of a vector file: ``words[i]`` has vector ``vectors[i]`` (``words`` may be shorter for
    rows without a word, i.e. fastText's subword buckets)."""

    words: list[bytes]
    vectors: np.ndarray


@dataclass(frozen=True)
class Header:
    """What a reader learns before the rows: matrix shape, vocabulary size and fastText subword settings."""

    rows: int
    dim: int
    count: int
    subwords: dict | None = None


def open_mmap(path: Path) -> mmap.mmap:
    """Memory-map ``path`` read-only (clear error when it is missing, not a regular file, or empty)."""
    regular_file(path, "vector file", EmbeddingSourceError)
    try:
        with open(path, "rb") as handle:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError as exc:
        raise EmbeddingSourceError(f"the vector file {path} does not exist; check the path") from exc
    except ValueError as exc:  # empty file
        raise EmbeddingSourceError(f"the vector file {path} is empty; download or export it again") from exc


def _bad(path: Path, what: str) -> EmbeddingSourceError:
    return EmbeddingSourceError(f"{path} is not a valid vector file: {what}; download or export it again")


def _parse_count_dim(line: bytes) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1])
    return None


def read_word2vec_bin(path: Path, progress: Progress | None = None) -> tuple[Header, Iterator[Chunk]]:
    """Header and row chunks of a word2vec binary file."""
    mm = open_mmap(path)
    end = mm.find(b"\n")
    shape = _parse_count_dim(mm[: end if end >= 0 else 0])
    if shape is None:
        raise _bad(path, "the first line is not 'count dim' (is it a text file? use a .txt/.vec name)")
    count, dim = shape
    header = Header(rows=count, dim=dim, count=count)

    def chunks() -> Iterator[Chunk]:
        pos, size, nbytes = end + 1, len(mm), dim * 4
        done = 0
        while done < count:
            n = min(CHUNK_ROWS, count - done)
            words: list[bytes] = []
            blocks: list[bytes] = []
            for _ in range(n):
                while pos < size and mm[pos] == 0x0A:
                    pos += 1
                space = mm.find(b" ", pos)
                if space < 0 or space + 1 + nbytes > size:
                    raise _bad(path, f"it ends after {done + len(words)} of {count} vectors (truncated)")
                words.append(mm[pos:space])
                blocks.append(mm[space + 1 : space + 1 + nbytes])
                pos = space + 1 + nbytes
            done += n
            if progress:
                progress(pos, size)
            yield Chunk(words, np.frombuffer(b"".join(blocks), dtype="<f4").reshape(n, dim))
        mm.close()

    return header, chunks()


def count_lines(mm: mmap.mmap) -> int:
    """Number of non-empty lines (a last line without ``\\n`` counts)."""
    lines, pos, size = 0, 0, len(mm)
    step = 1 << 24
    while pos < size:
        lines += mm[pos : pos + step].count(b"\n")
        pos += step
    if size and mm[size - 1] != 0x0A:
        lines += 1
    return lines


def read_text(path: Path, progress: Progress | None = None) -> tuple[Header, Iterator[Chunk]]:
    """Header and row chunks of a text vector file (word2vec / fastText ``.vec`` / GloVe ``.txt``)."""
    mm = open_mmap(path)
    first_end = mm.find(b"\n")
    first_end = len(mm) if first_end < 0 else first_end
    shape = _parse_count_dim(mm[:first_end])
    if shape is not None:
        count, dim = shape
        start = first_end + 1
    else:
        parts = mm[:first_end].split()
        count, dim, start = count_lines(mm), len(parts) - 1, 0
        if dim < 1:
            raise _bad(path, "the first line holds no vector")
    header = Header(rows=count, dim=dim, count=count)

    def chunks() -> Iterator[Chunk]:
        pos, size, done = start, len(mm), 0
        while done < count:
            n = min(CHUNK_ROWS // 4, count - done)
            words: list[bytes] = []
            rests: list[bytes] = []
            while len(words) < n and pos < size:
                nl = mm.find(b"\n", pos)
                nl = size if nl < 0 else nl
                line = mm[pos:nl].rstrip()
                pos = nl + 1
                if not line:
                    continue
                word, _, rest = line.partition(b" ")
                words.append(word)
                rests.append(rest)
            if len(words) < n:
                raise _bad(path, f"it ends after {done + len(words)} of {count} vectors (truncated)")
            values = _parse_numbers(rests)
            if values.size != n * dim:  # a word with spaces inside (GloVe 840B has a few), or a bad line
                words, values = _parse_lines_slowly(path, words, rests, dim, done)
            done += n
            if progress:
                progress(min(pos, size), size)
            yield Chunk(words, values.reshape(n, dim))
        mm.close()

    return header, chunks()


def _parse_numbers(rests: list[bytes]) -> np.ndarray:
    """Space-separated numbers as float32 (empty when something is not a number)."""
    try:
        return np.fromstring(b" ".join(rests).decode("ascii", "replace"), dtype=np.float32, sep=" ")
    except ValueError:
        return np.empty(0, dtype=np.float32)


def _parse_lines_slowly(
    path: Path, words: list[bytes], rests: list[bytes], dim: int, done: int
) -> tuple[list[bytes], np.ndarray]:
    """Split each line from the right so that the last ``dim`` fields are the numbers."""
    out_words, rows = [], []
    for i, (word, rest) in enumerate(zip(words, rests, strict=True)):
        fields = (word + b" " + rest).rsplit(b" ", dim)
        row = _parse_numbers(fields[1:]) if len(fields) == dim + 1 else np.empty(0)
        if row.size != dim:
            raise _bad(path, f"line {done + i + 1} of the vectors does not end with {dim} numbers")
        out_words.append(fields[0])
        rows.append(row)
    return out_words, np.stack(rows)


def read_fasttext_bin(path: Path, progress: Progress | None = None) -> tuple[Header, Iterator[Chunk]]:
    """Header and row chunks of a fastText ``.bin`` model (word rows first, then the subword buckets)."""
    mm = open_mmap(path)
    if len(mm) < 8 + _FT_ARGS.size:
        raise _bad(path, "too short for a fastText model")
    magic, version = struct.unpack_from("<ii", mm, 0)
    if magic != FASTTEXT_MAGIC:
        raise _bad(path, "no fastText magic number (is it a word2vec .bin? use kind word2vec)")
    if version != FASTTEXT_VERSION:
        raise _bad(path, f"fastText format version {version}, only {FASTTEXT_VERSION} is supported")
    args = _FT_ARGS.unpack_from(mm, 8)
    dim, bucket, minn, maxn = args[0], args[8], args[9], args[10]
    pos = 8 + _FT_ARGS.size
    size, nwords, nlabels, _ntokens, pruneidx_size = struct.unpack_from("<iiiqq", mm, pos)
    pos += struct.calcsize("<iiiqq")
    words: list[bytes] = []
    for i in range(size):
        nul = mm.find(b"\0", pos)
        if nul < 0:
            raise _bad(path, "the dictionary is truncated")
        if i < nwords:
            words.append(mm[pos:nul])
        pos = nul + 1 + 9  # count int64 + entry type int8
    if pruneidx_size > 0:
        raise _bad(path, "it is a pruned/quantized model (.ftz); export the full .bin model instead")
    quant = mm[pos]
    pos += 1
    if quant:
        raise _bad(path, "it is a quantized model; use the full (non-quantized) .bin model")
    rows, cols = struct.unpack_from("<qq", mm, pos)
    pos += 16
    if cols != dim or rows != nwords + bucket or pos + rows * cols * 4 > len(mm):
        raise _bad(path, f"the input matrix is {rows} x {cols}, expected {nwords + bucket} x {dim} (truncated?)")
    subwords = {"minn": minn, "maxn": maxn, "bucket": bucket, "nwords": nwords}
    header = Header(rows=rows, dim=dim, count=nwords, subwords=subwords)
    matrix_start = pos

    def chunks() -> Iterator[Chunk]:
        step = CHUNK_ROWS
        for first in range(0, rows, step):
            n = min(step, rows - first)
            offset = matrix_start + first * dim * 4
            block = np.frombuffer(mm, dtype="<f4", count=n * dim, offset=offset).reshape(n, dim).copy()
            if progress:
                progress(offset + n * dim * 4, len(mm))
            yield Chunk(words[first : first + n], block)

    return header, chunks()


READERS: dict[str, Callable[[Path, Progress | None], tuple[Header, Iterator[Chunk]]]] = {
    "word2vec-bin": read_word2vec_bin,
    "text": read_text,
    "fasttext-bin": read_fasttext_bin,
}


def detect_format(kind: str, path: Path) -> str:
    """Pick a reader for ``kind`` (``word2vec`` | ``fasttext`` | ``glove``) and the file's content."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if kind == "fasttext" and len(head) >= 4 and struct.unpack_from("<i", head)[0] == FASTTEXT_MAGIC:
        return "fasttext-bin"
    first_line = head.split(b"\n", 1)[0]
    header_ok = kind in {"word2vec", "fasttext"} and _parse_count_dim(first_line) is not None
    if header_ok and _looks_binary(head[len(first_line) + 1 :]):
        return "word2vec-bin"
    if kind == "fasttext" and path.suffix == ".bin":
        raise _bad(path, "a fastText .bin must start with the fastText magic number")
    return "text"


def _looks_binary(data: bytes) -> bool:
    """True for float32 rows, False for UTF-8 text (a character cut at the end of ``data`` is allowed)."""
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data) - 4
    return False
