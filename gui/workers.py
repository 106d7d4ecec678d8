"""Background workers: the UI thread never runs a model and never waits on disk.

* :class:`PredictWorker` owns the ONNX :class:`~core.inference.runtime.Predictor` (loaded lazily, in its thread).
  Requests carry an increasing id; a request older than the newest one posted is dropped unread, so typing
  fast never queues up stale predictions. An image already encoded only re-runs the scorer.
  It also teaches stroke classes (:mod:`gui.teach`) and merges them into every draft, and builds the draft's
  project-numbered labels and overlay colours, so the UI thread only swaps buffers.
* :class:`PrefetchWorker` decodes and encodes the next and previous images ahead (bounded caches).
* :class:`DiskWorker` reads images and label maps and writes saves / autosaves, in order.

All live in their own ``QThread`` and talk to the window through queued signals only.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from core.errors import ZerolabelError
from gui.teach import extractor_name, merge_taught

#: Decoded images kept for switching (the current one and its neighbours).
DECODED_IMAGES = 3


def image_key(path: Path) -> str:
    """The encoder cache's key of an image file: path, mtime and size (an edited file is encoded again)."""
    try:
        st = Path(path).stat()
        return f"{path}:{st.st_mtime_ns}:{st.st_size}"
    except OSError:
        return ""  # the pixels' hash


class DecodedCache:
    """A small thread-safe LRU of decoded images keyed by :func:`image_key`.

    Two threads asking for the same image at once (the disk worker opening it while the prefetcher reads it ahead)
    decode it once: the second waits for the first, instead of a second 24-MP decode competing for the cores."""

    def __init__(self, size: int = DECODED_IMAGES) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._loading: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def read(self, path: Path) -> np.ndarray:
        from core.io.image import read_image

        key = image_key(path)
        if not key:
            return read_image(path)
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                loading = self._loading.get(key)
                if loading is None:
                    loading = self._loading[key] = threading.Event()
                    break
            loading.wait()  # another thread decodes it; take its result (or decode it here if that failed)
        try:
            rgb = read_image(path)
            with self._lock:
                self._items[key] = rgb
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return rgb
        finally:
            with self._lock:
                self._loading.pop(key, None)
            loading.set()


DECODED = DecodedCache()


@dataclass(frozen=True)
class PredictRequest:
    id: int
    image_id: str
    image: np.ndarray = field(repr=False)
    names: tuple[str, ...]
    calibration: float = 0.0
    key: str = ""  # the encoder cache's key: the file and its version, not just the id (two projects share ids)
    threshold: float = 0.0
    overlay: tuple | None = None  # (colours, visible, opacity) for the draft's colours, built in the worker


@dataclass(frozen=True)
class TeachRequest:
    image: np.ndarray = field(repr=False)
    key: str
    strokes: dict = field(repr=False)  # class name -> bool mask at the image's size
    negatives: np.ndarray | None = field(repr=False)
    path: str  # where the project keeps its stroke head


@dataclass(frozen=True)
class PredictResult:
    id: int
    image_id: str
    names: tuple[str, ...]
    prediction: object  # core.inference.runtime.Prediction
    seconds: float
    encoded: bool  # the image encoder ran for this request (False: cached features, scorer only)
    labels: np.ndarray | None = None  # request.names numbering (taught classes merged), before the threshold
    score: np.ndarray | None = None  # each pixel's label probability (when thresholded or taught)
    draft: np.ndarray | None = None  # labels thresholded by request.threshold
    rgba: np.ndarray | None = None  # draft coloured with request.overlay
    overlay: tuple | None = None
    threshold: float = 0.0
    taught: dict = field(default_factory=dict)  # taught class -> probability at the feature grid (heatmaps)


class PredictWorker(QObject):
    """Loads a model folder and predicts; every slot runs in the worker's thread."""

    model_ready = Signal(str, str, str, str)  # model name, device ("cuda" / "cpu"), text encoder, note
    model_failed = Signal(str)
    result = Signal(object)  # PredictResult
    failed = Signal(int, str)  # request id, message
    unknown_words = Signal(dict, dict)  # {class name: [unknown words]}, {class name: why} for the last request
    taught = Signal(list, float)  # the stroke head's classes, seconds the teach took (0: loaded)
    teach_failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.predictor = None
        self.head = None  # core.photo.strokes.StrokeHead of the open project
        self.latest = 0  # written by the UI thread; requests with a smaller id are skipped

    @Slot(str, str, str)
    def load_model(self, folder: str, device: str, text_spec: str) -> None:
        try:
            from core.inference.runtime import Predictor

            source, folder = folder, self._exported(folder)
            text = None
            if text_spec:
                from core.embeddings import build_encoder

                text = build_encoder(text_spec)
            predictor = Predictor(folder, device=device or "auto", text_encoder=text)
            if text is not None and text.dim != predictor.model.manifest.get("embed_dim", text.dim):
                raise ZerolabelError(
                    f"text encoder {text_spec} gives {text.dim}-d vectors but the model was trained on "
                    f"{predictor.model.manifest['embed_dim']}-d ({predictor.model.manifest['text_encoder']}); "
                    "pick the model's own text encoder")
        except Exception as exc:  # any failure must reach the user, not kill the thread
            self.model_failed.emit(f"{folder}: {exc}")
            return
        self.predictor = predictor
        name = predictor.model.manifest.get("name") or Path(source).name
        self.model_ready.emit(name, predictor.model.device, predictor.text.source, predictor.model.note or "")

    @staticmethod
    def _exported(folder: str) -> str:
        """A training run (best.pt / last.pt, no manifest) is exported to RUN/onnx once; this needs torch."""
        run = Path(folder)
        if (run / "manifest.json").is_file():
            return folder
        ckpt = next((run / n for n in ("best.pt", "last.pt") if (run / n).is_file()), None)
        if ckpt is None:
            return folder  # the Predictor's error says what a model folder needs
        out = run / "onnx"
        if not (out / "manifest.json").is_file() or (out / "manifest.json").stat().st_mtime < ckpt.stat().st_mtime:
            from core.inference.export import export_onnx  # imports torch: only for a run, only here

            export_onnx(ckpt, out)
        return str(out)

    def _head(self):
        """The stroke head when it is fitted on this model's features."""
        head, p = self.head, self.predictor
        if head is None or head.weight is None or p is None or head.extractor != extractor_name(p.model.manifest):
            return None
        return head

    @Slot(object)
    def predict(self, request: PredictRequest) -> None:
        if request.id < self.latest or self.predictor is None:
            return
        try:
            result = self._predict(request)
        except Exception as exc:
            detail = str(exc) if isinstance(exc, ZerolabelError) else traceback.format_exc(limit=3)
            self.failed.emit(request.id, detail)
            return
        self.result.emit(result)

    def _predict(self, request: PredictRequest) -> PredictResult:
        p, head, every = self.predictor, self._head(), list(request.names)
        taught = [n for n in every if head is not None and n in head.classes]
        missing = p.text.missing(every)
        flagged = {n: w for n, w in missing.items() if n not in taught}
        self.unknown_words.emit(flagged, {n: _why(p.text, n) for n in flagged})
        names = [n for n in every if n not in missing]
        runs = p.encoder_runs
        start = time.perf_counter()
        if names:
            pred = p.predict(request.image, names, calibration=request.calibration, key=request.key or None)
            lut = np.zeros(256, np.uint8)
            lut[1:len(names) + 1] = [every.index(n) + 1 for n in names]
            labels = cv2.LUT(pred.labels, lut)  # a table look-up, ~10x numpy's gather at 12 MP
            score = pred.label_score() if taught or request.threshold > 0 else None
        else:  # no name the model can score (all unsupported or taught): encode only, for strokes and switching
            p.features(request.image, request.key or None)
            pred, labels = None, np.zeros(request.image.shape[:2], np.uint8)
            score = np.zeros(labels.shape, np.float32) if taught or request.threshold > 0 else None
        maps = {}
        if taught:
            from core.photo import stroke_features

            probs = head.probabilities(stroke_features(p, request.image, request.key or None))
            merge_taught(labels, score, probs, [every.index(c) + 1 if c in every else 0 for c in head.classes])
            maps = {c: probs[head.classes.index(c) + 1] for c in taught}
        draft = labels
        if request.threshold > 0 and score is not None:
            draft = labels.copy()
            draft[score < request.threshold] = 0
        rgba = None
        if request.overlay is not None:
            from gui.overlay import label_rgba

            rgba = label_rgba(draft, *request.overlay)
        seconds = time.perf_counter() - start
        return PredictResult(request.id, request.image_id, tuple(names), pred, seconds, p.encoder_runs > runs,
                             labels, score, draft, rgba, request.overlay, request.threshold, maps)

    @Slot(str)
    def load_head(self, path: str) -> None:
        """Read the project's stroke head (none when the file is absent)."""
        from core.photo.strokes import StrokeHead

        self.head = None
        try:
            if path and Path(path).is_file():
                self.head = StrokeHead.load(path)
        except Exception as exc:
            self.teach_failed.emit(str(exc))
        self.taught.emit(list(self.head.classes) if self.head is not None else [], 0.0)

    @Slot(object)
    def teach(self, request: TeachRequest) -> None:
        """Add the strokes' feature vectors to the project's head, refit it, save it next to project.json."""
        try:
            from core.photo import stroke_features
            from core.photo.strokes import StrokeHead

            if self.predictor is None:
                raise ZerolabelError("the model is still loading; teach again in a moment")
            extractor = extractor_name(self.predictor.model.manifest)
            if extractor is None:
                raise ZerolabelError("this model has no stroke features; use Model > Built-in: photos to teach "
                                     "classes by strokes")
            start = time.perf_counter()
            head = self.head if self.head is not None and self.head.extractor == extractor else StrokeHead(extractor)
            self.head = head.add(stroke_features(self.predictor, request.image, request.key or None),
                                 request.strokes, request.negatives)  # samples stay even when the fit refuses
            head.fit()
            if request.path:
                head.save(request.path)
            self.taught.emit(list(head.classes), time.perf_counter() - start)
        except Exception as exc:
            self.teach_failed.emit(str(exc) if isinstance(exc, ZerolabelError) else traceback.format_exc(limit=3))


def _why(text, name: str) -> str:
    """Why a name is not predicted, in the text encoder's words."""
    if getattr(text, "source", "") == "imagenet-concepts":
        from core.photo.names import unsupported_message

        return unsupported_message(name)
    return ""


class PrefetchWorker(QObject):
    """Decodes and encodes images ahead of the labeler (the next and previous ones), in its own thread.

    The Predictor's feature cache and :data:`DECODED` are bounded; switching to a prefetched image runs only the
    scorer. A newer request replaces the queued one (``latest``).
    """

    done = Signal(str, bool)  # key, encoded now

    def __init__(self, predict_worker: PredictWorker) -> None:
        super().__init__()
        self.predict_worker = predict_worker
        self.latest = 0

    @Slot(int, list)
    def prefetch(self, seq: int, paths: list) -> None:
        for path in paths:
            predictor = self.predict_worker.predictor
            if seq < self.latest or predictor is None:
                return
            key = image_key(Path(path))
            try:
                encoded = predictor.prefetch(key, lambda p=path: DECODED.read(Path(p)))
            except Exception:  # noqa: BLE001 (a broken neighbour is reported when it is opened)
                continue
            self.done.emit(key, encoded)


class DiskWorker(QObject):
    """Reads images and label maps, writes saves and autosaves; in the order they were asked for (one queue).

    A save is reported ``saved`` only once the disk has it; a failed save is autosaved instead (when that works)
    and reported ``save_failed`` with the labels, so the window keeps them.
    """

    loaded = Signal(str, object, object, bool, int)  # id, rgb, labels (or None), from an autosave, request
    load_failed = Signal(str, str, int)  # image id, message, request
    saved = Signal(str, str, object)  # image id, "save" | "autosave", the caller's ticket
    save_failed = Signal(str, str, str, object, object, bool)  # id, kind, message, labels, ticket, autosaved

    @Slot(object, str, bool, int)
    def load(self, project, image_id: str, recover: bool, request: int) -> None:
        try:
            rgb = DECODED.read(project.images[image_id])
            from_autosave = recover and project.autosave_path(image_id).is_file()
            labels = project.recover(image_id) if from_autosave else project.load_labels(image_id)
            if labels is not None and labels.shape != rgb.shape[:2]:
                raise ZerolabelError(f"{project.label_path(image_id)}: label map is {labels.shape[1]}x"
                                     f"{labels.shape[0]} but the image is {rgb.shape[1]}x{rgb.shape[0]}; "
                                     "delete the label map to start this image again")
        except Exception as exc:
            self.load_failed.emit(image_id, str(exc), request)
            return
        self.loaded.emit(image_id, rgb, labels, bool(from_autosave), request)

    @Slot(object, str, object, bool, object, object)
    def save(self, project, image_id: str, labels: np.ndarray, autosave: bool, done, ticket) -> None:
        kind = "autosave" if autosave else "save"
        try:
            if autosave:
                project.autosave(image_id, labels)
            else:
                project.save_labels(image_id, labels, done=done)
        except Exception as exc:  # full disk, read-only folder, a locked project: nothing may say "saved"
            kept = False
            if not autosave:
                try:
                    project.autosave(image_id, labels)
                    kept = True
                except Exception:  # noqa: BLE001 (the save's own error is the one to report)
                    pass
            self.save_failed.emit(image_id, kind, str(exc), labels, ticket, kept)
            return
        self.saved.emit(image_id, kind, ticket)

    @Slot()
    def flush(self) -> None:
        """Called blocking from the UI thread: returns once every write queued before it has run."""
