"""Hashes of the on-disk vector store: FNV-1a 64 for the vocabulary index, fastText's FNV-1a 32 for subwords.

fastText hashes the UTF-8 bytes of a character n-gram with FNV-1a 32, xor-ing each byte *as a signed char*
(``h ^= uint32_t(int8_t(byte))``), so bytes >= 0x80 are xor-ed as ``0xFFFFFF00 | byte``. N-grams are taken over
``"<" + word + ">"`` in whole UTF-8 characters, lengths ``minn..maxn``, leaving out the lone ``"<"`` and ``">"``.
A word's subword row is ``nwords + hash % bucket`` (fastText ``Dictionary::computeSubwords``).
"""

from __future__ import annotations

import numpy as np

FNV64_OFFSET = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
FNV32_OFFSET = 2166136261
FNV32_PRIME = 16777619
_MASK32 = (1 << 32) - 1


def fnv1a64(data: bytes) -> int:
    """FNV-1a 64-bit hash of ``data`` (the store's vocabulary hash).

    Example:
        >>> hex(fnv1a64(b"a"))
        '0xaf63dc4c8601ec8c'
    """
    h = FNV64_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV64_PRIME) & _MASK64
    return h


def fnv1a64_many(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """FNV-1a 64 of every word in a byte blob, vectorised (``word i = blob[offsets[i]:offsets[i+1]]``).

    Words are processed longest first so that byte position ``j`` only touches the words longer than ``j``:
    the work is the total number of bytes, not ``count * max_length``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    starts = offsets[:-1][order]
    hashes = np.full(len(lengths), FNV64_OFFSET, dtype=np.uint64)
    prime = np.uint64(FNV64_PRIME)
    max_length = int(sorted_lengths[0]) if len(sorted_lengths) else 0
    # number of words longer than j, for each j (sorted_lengths is non-increasing)
    active = np.searchsorted(-sorted_lengths, -np.arange(max_length), side="left")
    for j in range(max_length):
        k = int(active[j])
        hashes[:k] = (hashes[:k] ^ blob[starts[:k] + j].astype(np.uint64)) * prime
    out = np.empty_like(hashes)
    out[order] = hashes
    return out


def ft_hash(data: bytes) -> int:
    """fastText's 32-bit FNV-1a with the signed-char quirk (gensim ``ft_hash_bytes``)."""
    h = FNV32_OFFSET
    for byte in data:
        h = ((h ^ (byte | 0xFFFFFF00 if byte >= 0x80 else byte)) * FNV32_PRIME) & _MASK32
    return h


def ft_ngrams(word: str, minn: int, maxn: int) -> list[bytes]:
    """Character n-grams of ``"<word>"`` exactly as fastText computes them (UTF-8 character aware)."""
    data = f"<{word}>".encode()
    size = len(data)
    ngrams: list[bytes] = []
    for i in range(size):
        if data[i] & 0xC0 == 0x80:
            continue
        j, n = i, 1
        while j < size and n <= maxn:
            j += 1
            while j < size and data[j] & 0xC0 == 0x80:
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == size)):
                ngrams.append(data[i:j])
            n += 1
    return ngrams


def ft_subword_rows(word: str, minn: int, maxn: int, bucket: int, nwords: int) -> list[int]:
    """Matrix rows of the subwords of ``word`` (``nwords + hash % bucket``); empty when ``maxn == 0``."""
    if maxn <= 0 or bucket <= 0 or word == "</s>":
        return []
    return [nwords + ft_hash(g) % bucket for g in ft_ngrams(word, minn, maxn)]
