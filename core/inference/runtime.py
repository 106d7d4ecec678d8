"""Prediction over ONNX Runtime, without torch: the app and ``zerolabel predict`` use this.

* Execution provider: CUDA when it really works (``onnxruntime.preload_dlls()`` loads the CUDA/cuDNN libraries
  the torch wheels installed), else CPU; :attr:`OnnxModel.device` says which one runs.
* Images are resized so the short side is the model's input size (the long side capped at ``MAX_SIDE_FACTOR``
  times it), so memory stays bounded for huge images; labels and heatmaps come back at the input's exact size.
* Encoded images are cached (LRU, keyed by file content hash + model); changing class names re-runs only the
  scorer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.errors import ZerolabelError

log = logging.getLogger(__name__)
MAX_SIDE_FACTOR = 4
MATCH = 0.9999


class ModelFolderError(ZerolabelError):
    """An exported model folder is missing or damaged."""


def _ort():
    import onnxruntime

    return onnxruntime


def choose_providers(device: str = "auto") -> tuple[list[str], str]:
    """Providers to try and a note: ``auto`` prefers CUDA when onnxruntime has it and its libraries load."""
    ort = _ort()
    available = ort.get_available_providers()
    if device == "auto" and not has_nvidia_gpu():
        return ["CPUExecutionProvider"], ""
    if device == "cpu" or "CUDAExecutionProvider" not in available:
        return ["CPUExecutionProvider"], "" if device != "cuda" else "CUDA requested but not available"
    if hasattr(ort, "preload_dlls"):
        try:
            ort.preload_dlls()  # CUDA / cuDNN from the nvidia-* wheels torch brought along
        except Exception as exc:  # pragma: no cover - depends on the machine
            return ["CPUExecutionProvider"], f"CUDA libraries could not be loaded ({exc}); using the CPU"
    return ["CUDAExecutionProvider", "CPUExecutionProvider"], ""


def has_nvidia_gpu() -> bool:
    """An NVIDIA driver is present (onnxruntime-gpu lists CUDA even on machines without a GPU)."""
    if sys.platform.startswith("linux"):
        return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia/version").exists()
    return sys.platform == "win32"


class OnnxModel:
    """An exported model folder (``manifest.json``, ``encoder.onnx``, ``scorer.onnx``).

    Example:
        >>> model = OnnxModel("resources/demo_model")  # doctest: +SKIP
        >>> model.device  # doctest: +SKIP
        'cpu'
    """

    def __init__(self, folder: str | os.PathLike, device: str = "auto") -> None:
        self.folder = Path(folder)
        manifest = self.folder / "manifest.json"
        if not manifest.is_file():
            raise ModelFolderError(f"{self.folder}: no manifest.json; export a run with `zerolabel export-onnx`")
        try:
            self.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise ModelFolderError(f"{manifest}: unreadable ({exc}); export the model again") from exc
        m = self.manifest
        _check_manifest(manifest, m)
        if m.get("scorer_inputs") == "rows":
            try:
                self.bank = {k: np.load(self.folder / v) for k, v in m["bank"].items()}  # never allow_pickle
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                raise ModelFolderError(f"{self.folder}: a classifier bank file cannot be read ({exc}); "
                                       "export the model again") from exc
        ort = _ort()
        providers, self.note = choose_providers(device)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.encoder = ort.InferenceSession(str(self.folder / m["encoder"]), options, providers=providers)
            self.scorer = ort.InferenceSession(str(self.folder / m["scorer"]), options, providers=providers)
        except Exception as exc:
            if providers[0] != "CPUExecutionProvider":
                log.warning("CUDA session failed (%s); falling back to the CPU", exc)
                self.note = f"CUDA session failed ({exc}); using the CPU"
                self.encoder = ort.InferenceSession(str(self.folder / m["encoder"]), options,
                                                    providers=["CPUExecutionProvider"])
                self.scorer = ort.InferenceSession(str(self.folder / m["scorer"]), options,
                                                   providers=["CPUExecutionProvider"])
            else:
                raise ModelFolderError(f"{self.folder}: the ONNX graphs cannot be loaded ({exc})") from exc
        self._check_graphs()
        used = self.encoder.get_providers()[0]
        self.device = "cuda" if used == "CUDAExecutionProvider" else "cpu"
        self.size = int(m["input_size"])
        self.mean = np.array(m["mean"], np.float32) * 255
        self.std = np.array(m["std"], np.float32) * 255
        self.softmax = m["activation"] == "softmax"
        self.seen = set(m.get("seen_classes", []))
        self.id = hashlib.sha1(json.dumps(m, sort_keys=True).encode()).hexdigest()[:12]

    def _check_graphs(self) -> None:
        """The two graphs are this folder's encoder and scorer (not swapped, not from another export)."""
        features = list(self.manifest["features"])
        encoder_in = [i.name for i in self.encoder.get_inputs()]
        encoder_out = [o.name for o in self.encoder.get_outputs()]
        scorer_in = {i.name for i in self.scorer.get_inputs()}
        class_in = {"weight", "bias"} if self.manifest.get("scorer_inputs") == "rows" else {"classes"}
        if encoder_in != ["image"] or encoder_out != features or not class_in <= scorer_in \
                or not scorer_in - class_in <= set(features):
            raise ModelFolderError(
                f"{self.folder}: the ONNX graphs do not match manifest.json (encoder {encoder_in} -> {encoder_out}, "
                f"scorer {sorted(scorer_in)}); the files come from different exports: export the model again")

    def class_dim(self) -> int | None:
        """The class-embedding size the scorer takes (None: dynamic, classifier rows, or U-Net's class count only)."""
        if self.manifest.get("embed_dim", 1) == 0:
            return None
        for i in self.scorer.get_inputs():
            if i.name == "classes" and len(i.shape) == 2 and isinstance(i.shape[1], int):
                return i.shape[1]
        return None

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        scale = self.size / min(h, w)
        if max(h, w) * scale > MAX_SIDE_FACTOR * self.size:
            scale = MAX_SIDE_FACTOR * self.size / max(h, w)
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, new, interpolation=interp) if new != (w, h) else image
        x = (resized.astype(np.float32) - self.mean) / self.std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def encode(self, image: np.ndarray) -> list[np.ndarray]:
        """uint8 RGB ``[H, W, 3]`` -> feature arrays (batch of one)."""
        return self.encoder.run(None, {"image": self.preprocess(image)})

    def class_inputs(self, names: Sequence[str], matrix: np.ndarray) -> dict[str, np.ndarray]:
        if self.manifest.get("scorer_inputs") != "rows":
            if self.manifest.get("embed_dim", 1) == 0:  # U-Net baseline: classes only set the count
                matrix = np.zeros((len(names), 1), np.float32)
            return {"classes": matrix.astype(np.float32)}
        bank = self.bank["embeddings"]
        sims = matrix @ (bank / np.linalg.norm(bank, axis=1, keepdims=True)).T
        rows = sims.argmax(1)
        missing = [n for n, r, s in zip(names, rows, sims, strict=True) if s[r] < MATCH]
        if missing:
            raise ZerolabelError(
                f"this ZS3Net model has no classifier for {', '.join(map(repr, missing))}; refit it with the torch "
                "backend (core.inference.torch_backend.refit) or use a Relation Network / SPNet model"
            )
        return {"weight": self.bank["weight"][rows], "bias": self.bank["bias"][rows]}

    def logits(self, features: list[np.ndarray], names: Sequence[str], matrix: np.ndarray):
        feeds = {n: f for n, f in zip(self.manifest["features"], features, strict=True)
                 if n in {i.name for i in self.scorer.get_inputs()}}
        outputs = self.scorer.run(None, {**feeds, **self.class_inputs(names, matrix)})
        return outputs[0][0], (outputs[1][0] if self.softmax else None)


#: manifest.json keys the runtime reads, with their types.
_MANIFEST_KEYS = {"encoder": str, "scorer": str, "input_size": int, "mean": list, "std": list, "activation": str,
                  "features": list, "text_encoder": str}


def _check_manifest(path: Path, m: object) -> None:
    """Refuse a manifest that is not an object with the keys the runtime needs (an edited or foreign file)."""
    if not isinstance(m, dict):
        raise ModelFolderError(f"{path}: not a zerolabel model manifest (a JSON object was expected); "
                               "export the model again with `zerolabel export-onnx`")
    wrong = [k for k, kind in _MANIFEST_KEYS.items() if not isinstance(m.get(k), kind) or isinstance(m.get(k), bool)]
    if wrong:
        raise ModelFolderError(f"{path}: missing or invalid {', '.join(wrong)}; the file was edited or cut short: "
                               "export the model again with `zerolabel export-onnx`")
    for key in ("mean", "std"):
        if len(m[key]) != 3 or not all(isinstance(v, int | float) for v in m[key]):
            raise ModelFolderError(f"{path}: {key!r} must be three numbers; export the model again")
    if m.get("scorer_inputs") == "rows" and not isinstance(m.get("bank"), dict):
        raise ModelFolderError(f"{path}: a ZS3Net model needs its 'bank' files; export the model again")
    if m["activation"] != "softmax" and not isinstance(m.get("threshold"), int | float):
        raise ModelFolderError(f"{path}: a sigmoid model needs a numeric 'threshold'; export the model again")


def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``[C, h, w]`` -> ``[C, H, W]`` bilinear with half-pixel centres (torch's align_corners=False)."""
    h, w = size
    if maps.shape[0] == 0:
        return np.zeros((0, h, w), np.float32)
    out = [cv2.resize(maps[i : i + 256].transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
           for i in range(0, maps.shape[0], 256)]
    return np.concatenate([o.reshape(h, w, -1).transpose(2, 0, 1) for o in out]).astype(np.float32)


def probabilities(model: OnnxModel, logits: np.ndarray, background: np.ndarray | None, size) -> np.ndarray:
    """``[1 + C, H, W]`` with background first (the rule of ``core.models.base.predict_probabilities``)."""
    up = upsample(logits, size)
    if model.softmax:
        scores = np.concatenate([upsample(background, size), up])
        scores = np.exp(scores - scores.max(0, keepdims=True))
        return scores / scores.sum(0, keepdims=True)
    probs = 1.0 / (1.0 + np.exp(-up))
    best = probs.max(0, keepdims=True) if len(probs) else np.zeros((1, *size), np.float32)
    return np.concatenate([(best < model.manifest["threshold"]).astype(np.float32), probs])


@dataclass
class Prediction:
    """What the app overlays: ``labels`` 0 = background, i = ``names[i - 1]``; maps at the image's size."""

    names: list[str]
    labels: np.ndarray  # uint8 [H, W]
    heatmaps: np.ndarray  # float32 [C, H, W] in [0, 1]
    uncertainty: np.ndarray  # float32 [H, W]: 1 - (p1 - p2)
    device: str


def remove_specks(labels: np.ndarray, min_area: int) -> np.ndarray:
    """Set connected regions smaller than ``min_area`` pixels (per class) to background."""
    if min_area <= 0:
        return labels
    out = labels.copy()
    for c in np.unique(labels):
        if c == 0:
            continue
        n, comp, stats, _ = cv2.connectedComponentsWithStats((labels == c).astype(np.uint8), connectivity=8)
        small = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < min_area) + 1
        if small.size:
            out[np.isin(comp, small)] = 0
    return out


class Predictor:
    """Model + text encoder + caches: ``predict(image, names)`` with the encoder run once per image.

    Example:
        >>> p = Predictor("resources/demo_model")  # doctest: +SKIP
        >>> p.predict(image, ["red circle", "blue star"]).labels.shape == image.shape[:2]  # doctest: +SKIP
        True
    """

    def __init__(self, folder: str | os.PathLike, device: str = "auto", cache_size: int = 32,
                 text_encoder=None) -> None:
        self.model = OnnxModel(folder, device)
        if text_encoder is None:
            from core.embeddings import build_encoder

            text_encoder = build_encoder(self.model.manifest["text_encoder"])
        self.text = text_encoder
        expected = self.model.class_dim()
        if expected is not None and expected != text_encoder.dim:
            raise ModelFolderError(
                f"{self.model.folder}: the scorer takes {expected}-dimensional class embeddings but the text encoder "
                f"{text_encoder.source} gives {text_encoder.dim}; use the encoder the model was trained with "
                f"({self.model.manifest['text_encoder']})")
        self.cache_size = cache_size
        self._features: OrderedDict[str, list[np.ndarray]] = OrderedDict()
        self.encoder_runs = 0

    def features(self, image: np.ndarray, key: str | None = None) -> list[np.ndarray]:
        key = key or hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
        key = f"{self.model.id}:{key}:{image.shape}"
        if key in self._features:
            self._features.move_to_end(key)
            return self._features[key]
        feats = self.model.encode(image)
        self.encoder_runs += 1
        self._features[key] = feats
        while len(self._features) > self.cache_size:
            self._features.popitem(last=False)
        return feats

    def predict(self, image: np.ndarray, names: Sequence[str], *, calibration: float = 0.0, min_area: int = 0,
                key: str | None = None) -> Prediction:
        names = list(names)
        matrix = self.text.embed(names) if names else np.zeros((0, max(1, self.text.dim)), np.float32)
        logits, background = self.model.logits(self.features(image, key), names, matrix)
        probs = probabilities(self.model, logits, background, image.shape[:2])
        if calibration:
            seen = [i + 1 for i, n in enumerate(names) if n in self.model.seen]
            probs[seen] -= calibration
        padded = probs if len(probs) > 1 else np.concatenate([probs, np.zeros_like(probs)])
        top2 = np.partition(padded, len(padded) - 2, axis=0)[-2:]  # second best and best, without a full sort
        labels = remove_specks(probs.argmax(0).astype(np.uint8), min_area)
        heat = np.clip(probs[1:], 0, 1)
        return Prediction(names, labels, heat, (1 - (top2[1] - top2[0])).astype(np.float32), self.model.device)


def demo_model_folder() -> Path:
    """The small demo model shipped in ``resources/demo_model`` (see the README for the command that made it)."""
    from importlib.resources import files

    return Path(str(files("resources") / "demo_model"))


def sample_images_folder() -> Path:
    """Sample images (with their ground-truth label PNGs) shipped in ``resources/samples``."""
    from importlib.resources import files

    return Path(str(files("resources") / "samples"))


def file_key(path: str | os.PathLike) -> str:
    """Content hash of a file (the cache key: a renamed file is not re-encoded, an edited one is)."""
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
