"""Class-name embeddings: the ``TextEncoder`` contract, its providers and the on-disk vector store.

Importing this package is cheap: providers load their libraries (gensim, fastText, ONNX Runtime, torch for
``minilm-torch`` only) when they are built.

Example:
    >>> from core.embeddings import build_encoder
    >>> enc = build_encoder("glove50")
    >>> enc.embed(["sea lion", "tvmonitor"]).shape
    (2, 50)
"""

from core.embeddings.base import TextEncoder
from core.embeddings.build import build_encoder, provider_names, register_provider
from core.embeddings.names import ClassNameError, name_words, normalize_name
from core.embeddings.store import VectorStore, default_store_dir
from core.embeddings.store_import import import_vectors

__all__ = [
    "ClassNameError",
    "TextEncoder",
    "VectorStore",
    "build_encoder",
    "default_store_dir",
    "import_vectors",
    "name_words",
    "normalize_name",
    "provider_names",
    "register_provider",
]
