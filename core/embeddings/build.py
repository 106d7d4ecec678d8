"""``build_encoder(spec)``: the provider registry behind the ``--provider`` strings and checkpoint sources.

Specs: ``glove50 | minilm | minilm-torch | imagenet-concepts | word2vec:PATH | fasttext:PATH | attributes:PATH |
store:NAME``,
and ``P1+P2[+...]`` for a concatenation. An encoder's ``source`` is itself a spec, so a checkpoint's recorded
source rebuilds the same encoder.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from core.embeddings.base import TextEncoder
from core.errors import EmbeddingSourceError

Builder = Callable[..., TextEncoder]  # (argument or None, store_dir or None) -> encoder
_BUILDERS: dict[str, tuple[Builder, bool]] = {}  # name -> (builder, takes an argument after ':')


def register_provider(name: str, builder: Builder, *, takes_argument: bool) -> None:
    """Add a provider to the registry (refuses a duplicate name)."""
    if name in _BUILDERS:
        raise ValueError(f"the embedding provider {name!r} is already registered")
    _BUILDERS[name] = (builder, takes_argument)


def provider_names() -> list[str]:
    """The registered provider names, as a user types them (``word2vec:PATH`` style for file providers)."""
    return [f"{n}:{'NAME' if n == 'store' else 'PATH'}" if arg else n for n, (_, arg) in _BUILDERS.items()]


def _split_parts(spec: str) -> list[str]:
    """Split ``P1+P2`` on the ``+`` signs that start a provider (a ``+`` inside a path stays)."""
    parts: list[str] = []
    for piece in spec.split("+"):
        head = piece.strip().split(":", 1)[0]
        if parts and head not in _BUILDERS:
            parts[-1] += "+" + piece
        else:
            parts.append(piece.strip())
    return parts


def build_encoder(spec: str, *, store_dir: str | os.PathLike | None = None) -> TextEncoder:
    """Build the text encoder a spec names.

    Args:
        spec: ``glove50``, ``minilm``, ``minilm-torch``, ``word2vec:PATH``, ``fasttext:PATH``,
            ``attributes:PATH``, ``store:NAME`` or ``P1+P2``.
        store_dir: where ``store:NAME`` and the GloVe index live (default :func:`default_store_dir`).

    Raises:
        EmbeddingSourceError: unknown spec, missing argument or missing / malformed file, saying what to do.

    Example:
        >>> enc = build_encoder("glove50")
        >>> enc.embed(["dog", "pottedplant"]).shape
        (2, 50)
    """
    if not isinstance(spec, str) or not spec.strip():
        raise EmbeddingSourceError(f"empty embedding provider; use one of {', '.join(provider_names())}")
    parts = _split_parts(spec.strip())
    if len(parts) > 1:
        from core.embeddings.concat import ConcatEncoder

        return ConcatEncoder([build_encoder(p, store_dir=store_dir) for p in parts])
    name, sep, argument = parts[0].partition(":")
    name = name.strip().lower()
    if name not in _BUILDERS:
        raise EmbeddingSourceError(
            f"unknown embedding provider {spec!r}; use one of {', '.join(provider_names())} or P1+P2"
        )
    builder, takes_argument = _BUILDERS[name]
    if takes_argument and not argument.strip():
        what = "a store name" if name == "store" else "a file path"
        raise EmbeddingSourceError(f"the provider {name!r} needs {what}: write {name}:{what.split()[-1].upper()}")
    if not takes_argument and sep:
        raise EmbeddingSourceError(f"the provider {name!r} takes no argument; write just {name!r}")
    return builder(argument.strip() or None, store_dir)


def _glove(_arg, store_dir):
    from core.embeddings.glove import Glove50Encoder

    return Glove50Encoder(store_dir=store_dir)


def _minilm(_arg, _store_dir):
    from core.embeddings.minilm import MiniLMOnnxEncoder

    return MiniLMOnnxEncoder()


def _minilm_torch(_arg, _store_dir):
    from core.embeddings.minilm import MiniLMTorchEncoder

    return MiniLMTorchEncoder()


def _imagenet_concepts(_arg, _store_dir):
    from core.photo.names import ImageNetConceptNames

    return ImageNetConceptNames()


def _word2vec(path, _store_dir):
    from core.embeddings.wordvectors import Word2VecEncoder

    return Word2VecEncoder(path)


def _fasttext(path, _store_dir):
    from core.embeddings.wordvectors import FastTextEncoder

    return FastTextEncoder(path)


def _attributes(path, _store_dir):
    from core.embeddings.attributes import AttributeEncoder

    return AttributeEncoder(path)


def _store(name, store_dir):
    from core.embeddings.store import StoreEncoder

    return StoreEncoder(name, store_dir)


for _name, _builder, _arg in (
    ("glove50", _glove, False),
    ("minilm", _minilm, False),
    ("minilm-torch", _minilm_torch, False),
    ("imagenet-concepts", _imagenet_concepts, False),
    ("word2vec", _word2vec, True),
    ("fasttext", _fasttext, True),
    ("attributes", _attributes, True),
    ("store", _store, True),
):
    register_provider(_name, _builder, takes_argument=_arg)
