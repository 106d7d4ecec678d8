"""Prediction over ONNX Runtime, without torch: the app and ``zerolabel predict`` use this.

* Execution provider: CUDA when it really works (``onnxruntime.preload_dlls()`` loads the CUDA/cuDNN libraries
  the torch wheels installed), else CPU; :attr:`OnnxModel.device` says which one runs.
* Images are prepared by the model's preprocessing record (:mod:`core.inference.preprocess`); scores stay at the
  working resolution and labels come back at the input's exact size (:mod:`core.inference.postprocess`);
  heatmaps and the uncertainty map are computed on demand, for one class and optionally a region.
* Encoded images are cached (bounded LRU, keyed by the caller's key or the pixels' hash + model), and so are each
  class's logits per image: a class edit runs the scorer for the new class only, then the argmax.
  :meth:`Predictor.prefetch` encodes the next images ahead from another thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from core.errors import ZerolabelError
from core.inference.postprocess import Scores
from core.inference.prediction import Prediction
from core.inference.preprocess import MAX_SIDE_FACTOR, Preprocessing, preprocess
from core.metrics.calibration import calibration_offsets

log = logging.getLogger(__name__)
__all__ = ["MAX_SIDE_FACTOR", "OnnxModel", "Prediction", "Predictor", "remove_specks"]
MATCH = 0.9999
#: Classes an 8-bit label map holds besides background (labelmap.txt allows 255 names, 255 is "ignore").
MAX_CLASSES = 254
#: ONNX Runtime inter-op threads; intra-op threads default to the CPUs this process may use, set explicitly
#: (measured in bench/results/inference.md: on 2 cores, 2 explicit threads ran the encoder 1.6x faster than 1,
#: and ONNX Runtime's own choice (0) no faster than 1). ``ZEROLABEL_ORT_THREADS`` or ``--threads`` override it.
INTER_OP_THREADS = 1


def default_threads() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


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

    def __init__(self, folder: str | os.PathLike, device: str = "auto", threads: int | None = None) -> None:
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
        for name in (m["encoder"], m["scorer"], *(m.get("bank") or {}).values()):
            _check_model_file(self.folder, name)
        if m.get("scorer_inputs") == "rows":
            try:
                self.bank = {k: np.load(self.folder / v) for k, v in m["bank"].items()}  # never allow_pickle
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                raise ModelFolderError(f"{self.folder}: a classifier bank file cannot be read ({exc}); "
                                       "export the model again") from exc
        ort = _ort()
        providers, self.note = choose_providers(device)
        options = session_options(threads)
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
        self.preprocessing = Preprocessing.from_manifest(m)
        self.size = self.preprocessing.input_size
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
        """The model's preprocessing record applied (:func:`core.inference.preprocess.preprocess`)."""
        return preprocess(image, self.preprocessing)

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
                f"this ZS3Net model has no classifier for {', '.join(map(repr, missing))}; train it with these "
                "classes as unseen (fit_unseen) and export it again, or use a Relation Network / SPNet model"
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


def _check_model_file(folder: Path, name: object) -> None:
    """A model file is a regular file inside the folder (no absolute or ``..`` path, no FIFO or device)."""
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ModelFolderError(f"{folder / 'manifest.json'}: model file {name!r} must be a file name inside the "
                               "model folder; export the model again")
    path = folder / name
    try:
        mode = path.lstat().st_mode  # lstat: never open, so a FIFO cannot block
        inside = path.resolve().is_relative_to(folder.resolve())
    except OSError as exc:
        raise ModelFolderError(f"{path}: cannot be read ({exc}); export the model again") from exc
    if not stat.S_ISREG(mode) and not (stat.S_ISLNK(mode) and path.resolve().is_file()) or not inside:
        raise ModelFolderError(f"{path}: not a regular file inside the model folder; export the model again")


def session_options(threads: int | None = None):
    """ONNX Runtime session options: quiet, all graph optimisations, intra-op threads by measurement."""
    ort = _ort()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    env = os.environ.get("ZEROLABEL_ORT_THREADS", "")
    intra = threads if threads is not None else int(env) if env.isdigit() else default_threads()
    options.intra_op_num_threads = max(0, intra)
    options.inter_op_num_threads = INTER_OP_THREADS
    return options


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

    Thread-safe: the app predicts in one worker thread while :meth:`prefetch` encodes the next images in another.

    Example:
        >>> p = Predictor("resources/demo_model")  # doctest: +SKIP
        >>> p.predict(image, ["red circle", "blue star"]).labels.shape == image.shape[:2]  # doctest: +SKIP
        True
    """

    def __init__(self, folder: str | os.PathLike, device: str = "auto", cache_size: int = 32,
                 text_encoder=None, threads: int | None = None) -> None:
        self.model = OnnxModel(folder, device, threads)
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
        self._logits: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()  # per image: class -> [h, w]
        self._lock = threading.RLock()
        self._per_class = self.model.manifest.get("embed_dim", 1) != 0  # U-Net: logits depend on the class count
        self.encoder_runs = 0

    def _key(self, image: np.ndarray | None, key: str | None) -> str:
        if key is None:
            key = hashlib.sha1(np.ascontiguousarray(image).data).hexdigest() + str(image.shape)
        return f"{self.model.id}:{key}"

    def is_cached(self, key: str) -> bool:
        """The image with this key is encoded (switching to it runs only the scorer)."""
        with self._lock:
            return self._key(None, key) in self._features

    def features(self, image: np.ndarray, key: str | None = None) -> list[np.ndarray]:
        full = self._key(image, key)
        with self._lock:
            if full in self._features:
                self._features.move_to_end(full)
                return self._features[full]
        feats = self.model.encode(image)  # outside the lock: a prefetch never blocks a prediction's scorer
        with self._lock:
            self.encoder_runs += 1
            self._features[full] = feats
            self._features.move_to_end(full)
            while len(self._features) > self.cache_size:
                old, _ = self._features.popitem(last=False)
                self._logits.pop(old, None)
        return feats

    def prefetch(self, key: str, load: Callable[[], np.ndarray]) -> bool:
        """Encode the image ``load()`` returns under ``key`` unless it is cached; True when it encoded.

        The cache holds ``cache_size`` images (least recently used dropped first), so prefetching the next and
        previous images never grows memory without bound. Call it from a background thread.
        """
        if self.is_cached(key):
            return False
        self.features(load(), key)
        return True

    def _refine(self, feats, logits: np.ndarray) -> np.ndarray:
        """The post-process the manifest asks for (``refine``: ``grabcut`` snaps each class to colour edges)."""
        if self.model.manifest.get("refine") != "grabcut" or not len(logits):
            return logits
        from core.photo.grabcut import grabcut_logits

        guide = feats[list(self.model.manifest["features"]).index("guide")][0, :3]
        return grabcut_logits(guide, logits)

    def _class_logits(self, full: str, feats, names: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """``[C, h, w]`` logits (and background), scoring only the classes not cached for this image."""
        if not names and not self.model.softmax:  # sigmoid: no class means background everywhere, no scorer run
            return np.zeros((0, *np.shape(feats[0])[-2:]), np.float32), None
        if not self._per_class or not names:
            matrix = self.text.embed(names) if names else np.zeros((0, max(1, self.text.dim)), np.float32)
            logits, background = self.model.logits(feats, names, matrix)
            return self._refine(feats, logits), background
        with self._lock:
            cached = dict(self._logits.get(full, {}))
        missing = list(dict.fromkeys(n for n in names if n not in cached))
        if missing or (self.model.softmax and "\0background" not in cached):
            ask = missing or names[:1]
            logits, background = self.model.logits(feats, ask, self.text.embed(ask))
            logits = self._refine(feats, logits)
            cached.update(zip(ask, logits, strict=True))
            if background is not None:
                cached["\0background"] = background
            with self._lock:
                if full in self._features:
                    self._logits[full] = cached
        stack = np.stack([cached[n] for n in names])
        return stack, cached.get("\0background")

    def predict(self, image: np.ndarray, names: Sequence[str], *, calibration: float = 0.0, min_area: int = 0,
                key: str | None = None) -> Prediction:
        names = list(names)
        if len(names) > MAX_CLASSES:
            raise ZerolabelError(f"{len(names)} classes do not fit an 8-bit label map (background + at most "
                                 f"{MAX_CLASSES} classes); split them over several runs")
        offsets = calibration_offsets(names, self.model.seen, calibration, background_score=self.model.softmax)
        feats = self.features(image, key)
        logits, background = self._class_logits(self._key(image, key), feats, names)
        scores = Scores(logits, background, image.shape[:2], threshold=float(self.model.manifest.get("threshold", 0.5)),
                        offsets=offsets)
        labels = remove_specks(scores.labels(), min_area)
        return Prediction(names, labels, self.model.device, scores)


def demo_model_folder() -> Path:
    """The small demo model shipped in ``resources/demo_model`` (see the README for the command that made it)."""
    from importlib.resources import files

    return Path(str(files("resources") / "demo_model"))


def sample_images_folder() -> Path:
    """Sample images (with their ground-truth label PNGs) shipped in ``resources/samples``."""
    from importlib.resources import files

    return Path(str(files("resources") / "samples"))
