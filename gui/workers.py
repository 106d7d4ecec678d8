"""Background workers: the UI thread never runs a model and never waits on disk.

* :class:`PredictWorker` owns the ONNX :class:`~core.inference.runtime.Predictor` (loaded lazily, in its thread).
  Requests carry an increasing id; a request older than the newest one posted is dropped unread, so typing
  fast never queues up stale predictions. An image already encoded only re-runs the scorer.
* :class:`DiskWorker` reads images and label maps and writes saves / autosaves, in order.

Both live in their own ``QThread`` and talk to the window through queued signals only.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from core.errors import ZerolabelError


@dataclass(frozen=True)
class PredictRequest:
    id: int
    image_id: str
    image: np.ndarray = field(repr=False)
    names: tuple[str, ...]
    calibration: float = 0.0
    key: str = ""  # the encoder cache's key: the file and its version, not just the id (two projects share ids)


@dataclass(frozen=True)
class PredictResult:
    id: int
    image_id: str
    names: tuple[str, ...]
    prediction: object  # core.inference.runtime.Prediction
    seconds: float
    encoded: bool  # the image encoder ran for this request (False: cached features, scorer only)


class PredictWorker(QObject):
    """Loads a model folder and predicts; every slot runs in the worker's thread."""

    model_ready = Signal(str, str, str, str)  # model name, device ("cuda" / "cpu"), text encoder, note
    model_failed = Signal(str)
    result = Signal(object)  # PredictResult
    failed = Signal(int, str)  # request id, message
    unknown_words = Signal(dict)  # {class name: [unknown words]} for the names of the last request

    def __init__(self) -> None:
        super().__init__()
        self.predictor = None
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

    @Slot(object)
    def predict(self, request: PredictRequest) -> None:
        if request.id < self.latest or self.predictor is None:
            return
        try:
            missing = self.predictor.text.missing(list(request.names))
            self.unknown_words.emit(missing)
            names = [n for n in request.names if n not in missing]
            runs = self.predictor.encoder_runs
            start = time.perf_counter()
            pred = self.predictor.predict(request.image, names, calibration=request.calibration,
                                          key=request.key or None)
            seconds = time.perf_counter() - start
        except Exception as exc:
            detail = str(exc) if isinstance(exc, ZerolabelError) else traceback.format_exc(limit=3)
            self.failed.emit(request.id, detail)
            return
        self.result.emit(PredictResult(request.id, request.image_id, tuple(names), pred, seconds,
                                       self.predictor.encoder_runs > runs))


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
        from core.io.image import read_image

        try:
            rgb = read_image(project.images[image_id])
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
