"""``P1+P2``: concatenated class embeddings (e.g. word2vec + fastText, as in ZS3Net / SPNet).

Each part's class vector is L2-normalised by its own provider, the parts are concatenated and the result is
normalised again, so every provider weighs the same whatever its dimension or scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.embeddings.base import BaseEncoder, TextEncoder


class ConcatEncoder(BaseEncoder):
    """Concatenation of several encoders.

    Example:
        >>> enc = ConcatEncoder([build_encoder("glove50"), build_encoder("minilm")])  # doctest: +SKIP
        >>> enc.dim, enc.source  # doctest: +SKIP
        (434, 'glove50+minilm')
    """

    provider = "concat"

    def __init__(self, parts: Sequence[TextEncoder]) -> None:
        super().__init__()
        if len(parts) < 2:
            raise ValueError("a concatenation needs at least two encoders")
        self.parts = list(parts)
        self.dim = sum(int(p.dim) for p in self.parts)
        self.source = "+".join(p.source for p in self.parts)

    def _encode(self, phrases: list[str], names: list[str]) -> np.ndarray:
        # Parts embed the original names (their own caches and name rules); each row is already unit length.
        return np.concatenate([p.embed(names) for p in self.parts], axis=1)

    def _unknown(self, phrase: str, words: list[str]) -> list[str]:
        unknown: dict[str, None] = {}
        for part in self.parts:
            for found in part.missing([phrase]).values():
                unknown.update(dict.fromkeys(found))
        return list(unknown)
