"""zerolabel core: the Qt-free engine (data, class embeddings, models, metrics, inference, label maps)."""

__version__ = "0.1.0"
