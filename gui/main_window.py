"""The main window: navigator | canvas | classes and controls; menus with every shortcut.

The window holds the open project and the current image's label document; models run in
:class:`~gui.workers.PredictWorker`, disk reads and writes in :class:`~gui.workers.DiskWorker`.
An image the user has not edited shows the model's draft (refreshed when class names change); the first brush
stroke makes the labels the user's. Leaving an edited image saves it; edits are autosaved every few seconds.
Opening, switching, saving and exporting live in :class:`gui.documents.DocumentsMixin`, label and class edits in
:class:`gui.edits.EditsMixin`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox

from gui.canvas import Canvas
from gui.class_panel import ClassPanel
from gui.controls import Controls
from gui.documents import DocumentsMixin
from gui.edits import EditsMixin
from gui.layers import OverlayMixin
from gui.menus import MenusMixin
from gui.navigator import Navigator
from gui.teach import BUILTINS, builtin_folder
from gui.teach_mixin import TeachMixin
from gui.workers import DiskWorker, PredictRequest, PredictWorker, PrefetchWorker, image_key

AUTOSAVE_MS = 3000
DEBOUNCE_MS = 250


class MainWindow(TeachMixin, DocumentsMixin, EditsMixin, OverlayMixin, MenusMixin, QMainWindow):
    _post_predict = Signal(object)
    _post_teach = Signal(object)
    _post_head = Signal(str)
    _post_prefetch = Signal(int, list)
    _post_model = Signal(str, str, str)
    _post_load = Signal(object, str, bool, int)
    _post_save = Signal(object, str, object, bool, object, object)
    _post_flush = Signal()

    def __init__(self, settings: QSettings) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("zerolabel")
        self.setAcceptDrops(True)
        self.project = None  # core.annotation.Project
        self.image_id: str | None = None
        self.rgb: np.ndarray | None = None
        self.history = None  # core.annotation.History of the open image
        self.draft = True  # the labels are the model's draft, not the user's edits yet
        self.saved_version = self.autosaved_version = 0
        self.result = None  # the last PredictResult for this image
        self.pred_labels: np.ndarray | None = None
        self.recover = False
        self.recovery_policy = "ask"  # "ask" | "recover" | "discard" (tests choose without a dialog)
        self.close_policy = "ask"  # "ask" | "discard": quitting with edits that could not be written anywhere
        self.unsaved: dict[str, tuple[np.ndarray, bool]] = {}  # failed saves: labels, kept in the autosave
        self._load_seq = 0
        self.model_info = ("loading…", "", "")
        self.last_error: tuple[str, str] | None = None
        self._request = 0
        self._build()
        self._start_workers()

    # -- construction ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.canvas = Canvas()
        self.setCentralWidget(self.canvas)
        self.navigator = Navigator()
        self.classes = ClassPanel()
        self.controls = Controls()
        for title, widget, area in (("Images", self.navigator, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Classes", self.classes, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("View and tools", self.controls, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
            self.addDockWidget(area, dock)
        self.status_model = QLabel()
        self.status_latency = QLabel()
        self.status_pos = QLabel()
        self.status_read_only = QLabel()  # shown while another process writes the open project
        self.status_read_only.setStyleSheet("color: #c0392b; font-weight: bold")
        for w in (self.status_read_only, self.status_pos, self.status_latency, self.status_model):
            w.setContentsMargins(8, 0, 8, 0)
            self.statusBar().addPermanentWidget(w)
        self.navigator.image_chosen.connect(self.show_image)
        self.classes.add_requested.connect(self.add_class)
        self.classes.rename_requested.connect(self._rename_class)
        self.classes.remove_requested.connect(self.remove_class)
        self.classes.move_requested.connect(self._move_class)
        self.classes.visibility_changed.connect(self._visibility)
        self.classes.color_requested.connect(self._color)
        self.classes.current_changed.connect(self._current_class)
        self.controls.changed.connect(self._controls_changed)
        self.controls.prediction_changed.connect(lambda: self.schedule_prediction(60))
        self.controls.tool_changed.connect(self._tool)
        self.controls.brush.valueChanged.connect(self.canvas.set_brush_size)
        self.canvas.painted.connect(self._painted)
        self.canvas.stroke_finished.connect(self._edited)
        self.canvas.cursor_moved.connect(lambda x, y: self.status_pos.setText(f"x {x}  y {y}"))
        self._debounce = QTimer(self, singleShot=True, timeout=self._predict_now)
        self._autosave = QTimer(self, interval=AUTOSAVE_MS, timeout=self.autosave)
        self._autosave.start()
        self._menus()
        self._teach_menu()
        self.resize(1280, 800)
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray):  # a hand-edited or foreign settings file holds anything
            self.restoreGeometry(geometry)

    def _start_workers(self) -> None:
        self.predict_thread, self.disk_thread, self.prefetch_thread = QThread(self), QThread(self), QThread(self)
        self.worker, self.disk = PredictWorker(), DiskWorker()
        self.prefetcher = PrefetchWorker(self.worker)
        self.worker.moveToThread(self.predict_thread)
        self.disk.moveToThread(self.disk_thread)
        self.prefetcher.moveToThread(self.prefetch_thread)
        self._post_teach.connect(self.worker.teach)
        self._post_head.connect(self.worker.load_head)
        self._post_prefetch.connect(self.prefetcher.prefetch)
        self._post_predict.connect(self.worker.predict)
        self._post_model.connect(self.worker.load_model)
        self._post_load.connect(self.disk.load)
        self._post_save.connect(self.disk.save)
        self._post_flush.connect(self.disk.flush, Qt.ConnectionType.BlockingQueuedConnection)
        self.worker.model_ready.connect(self._model_ready)
        # bound methods, not lambdas: PySide6 runs a lambda in the emitting (worker) thread; a window slot is queued
        self.worker.model_failed.connect(self._model_failed)
        self.worker.result.connect(self._prediction)
        self.worker.failed.connect(self._predict_failed)
        self.worker.unknown_words.connect(self._unknown)
        self.disk.loaded.connect(self._loaded)
        self.disk.load_failed.connect(self._load_failed)
        self.disk.saved.connect(self._saved)
        self.disk.save_failed.connect(self._save_failed)
        self._init_teach()
        for thread in (self.predict_thread, self.disk_thread, self.prefetch_thread):
            thread.start()

    # -- model -------------------------------------------------------------------------------------------
    def load_model(self, folder: str = "", text_spec: str | None = None) -> None:
        """Load an exported model folder, a training run, or a built-in model by name (``photos``; ``shapes``
        or "" for the demo)."""
        folder = folder or ""
        if text_spec is None:
            text_spec = self.setting("text_encoder")
        self.settings.setValue("model", folder)
        self.settings.setValue("text_encoder", text_spec)
        self.model_info = ("loading…", "", "")
        self._show_model()
        path = str(builtin_folder(folder or "shapes")) if folder in ("", *BUILTINS) else folder
        self._post_model.emit(path, self.setting("device", "auto"), text_spec)

    def pick_model(self, run: bool) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Training run" if run else "Exported model folder")
        if folder:
            self.load_model(folder)

    def _model_ready(self, name: str, device: str, text: str, note: str) -> None:
        self.model_info = (name, device.upper(), text)
        self._show_model()
        if note:
            self.statusBar().showMessage(note, 10000)
        self.schedule_prediction(0)

    def _show_model(self) -> None:
        name, device, text = self.model_info
        self.status_model.setText(f"Model: {name}  ·  {device or '…'}  ·  text: {text or '…'}")

    # -- opening -----------------------------------------------------------------------------------------
    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images or a project")
        if folder:
            self.open_path(folder)

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)")
        if path:
            self.open_path(path)

    def setting(self, key: str, default: str = "") -> str:
        """A text setting; anything else a settings file holds there reads as ``default``."""
        value = self.settings.value(key, default)
        return value if isinstance(value, str) else default

    def recent_projects(self) -> list[str]:
        """The recent project folders, newest first. An INI file gives back a one-entry list as a plain string,
        which must not become a list of characters (the first of them, ``/``, opened as a project)."""
        value = self.settings.value("recent", [])
        value = [value] if isinstance(value, str) else value
        return [p for p in value if isinstance(p, str) and p] if isinstance(value, list) else []

    def _remember(self, root: Path) -> None:
        recent = [str(root)] + [p for p in self.recent_projects() if p != str(root)]
        self.settings.setValue("recent", recent[:8])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_projects():
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    # -- prediction --------------------------------------------------------------------------------------
    def schedule_prediction(self, delay: int = DEBOUNCE_MS) -> None:
        self._debounce.start(delay)

    def _predict_now(self) -> None:
        if self.project is None or self.rgb is None or not self.project.classes:
            self.status_latency.setText("")
            return
        self._request += 1
        self.worker.latest = self._request
        key = image_key(self.project.images[self.image_id])
        self._post_predict.emit(PredictRequest(self._request, self.image_id, self.rgb, tuple(self.project.names),
                                               self.controls.calibration_value, key, self.controls.threshold_value))

    def _prediction(self, result) -> None:
        if result.image_id != self.image_id or self.project is None or result.id < self._request:
            return
        self.result = result
        kind = "encoder + scorer" if result.encoded else "scorer only"
        self.status_latency.setText(f"Last prediction {1000 * result.seconds:.0f} ms ({kind})")
        self._update_draft()
        self.prefetch_neighbours()  # after this image's draft: encoding ahead never delays it

    def _update_draft(self) -> None:
        """Predicted labels in the project's numbering, thresholded; they become the labels of a draft.

        The worker built them (and their colours) for the names, threshold and colours of the request; only when
        those changed since is anything computed here."""
        r = self.result
        if r is None or self.project is None:
            return
        threshold, rgba = self.controls.threshold_value, None
        if r.threshold == threshold:
            labels = r.draft
            rgba = r.rgba if r.overlay == self.overlay_params() else None
        else:
            labels = r.labels.copy()
            if threshold > 0:
                score = r.score if r.score is not None or r.prediction is None else r.prediction.label_score()
                if score is not None:
                    labels[score < threshold] = 0
        self.pred_labels = labels
        if self.document is not None:
            self.document.set_draft(labels)  # ignored once the labeler edited: a late prediction keeps the edits
        self._draft_rgba = (self.history.version, rgba) if self.draft and self.history is not None else None
        self.refresh_overlay()

    def _unknown(self, missing: dict, reasons: dict) -> None:
        if self.project is not None and (missing != self.classes.unknown or reasons != self.classes.reasons):
            self.classes.set_classes(self.project.classes, missing, reasons)
            self._explain_class(self.classes.current())

    # -- overlay -----------------------------------------------------------------------------------------
    def _edited(self) -> None:
        if self.history is None:  # a stroke that ended after its image was left
            return
        self.document.edited()  # a draft becomes the labeler's labels, dirty until saved
        self.navigator.set_status(self.image_id, "draft" if self.navigator.status(self.image_id) != "done"
                                  else "done")
        self.refresh_overlay()

    def _controls_changed(self) -> None:
        self._update_draft() if self.result is not None else self.refresh_overlay()

    def _tool(self, name: str) -> None:
        self.canvas.tool = name

    def _current_class(self, row: int) -> None:
        self.canvas.value = row + 1
        if self.controls.layer_name == "heatmap":
            self.refresh_overlay()

    def project_runs(self) -> list:
        """Runs under PROJECT/runs (from the app or `zerolabel train --out PROJECT/runs/NAME`), newest first."""
        from training.runs import list_runs

        return list_runs(self.project.root / "runs") if self.project else []

    def refresh_runs(self) -> None:
        self.runs_menu.clear()
        for run in self.project_runs():
            action = self.runs_menu.addAction(run.describe(), lambda r=str(run.path): self.load_model(r))
            action.setEnabled(run.usable)  # a stopped or running one is continued from the training dialog
        if self.runs_menu.isEmpty():
            self.runs_menu.addAction("(none yet: Training ▸ Train a Model)").setEnabled(False)

    def training_dialog(self) -> None:
        from gui.training import TrainingDialog

        current = getattr(self, "trainer_dialog", None)
        if current is not None and (current.running or current.isVisible()):
            current.show()  # one trainer at a time: bring the open one back
            current.raise_()
            return
        runs = str(self.project.root / "runs") if self.project else ""
        data = str(self.project.root) if self.project and (self.project.root / "JPEGImages").is_dir() else ""
        self.trainer_dialog = TrainingDialog(data, runs, self, project=self.project)
        self.trainer_dialog.model_chosen.connect(self.load_model)
        self.trainer_dialog.show()

    # -- misc --------------------------------------------------------------------------------------------
    def error(self, title: str, message: str) -> None:
        """Errors go to the status bar and a non-blocking message box; the app goes on."""
        self.statusBar().showMessage(f"{title}: {message.splitlines()[0]}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setModal(False)
        box.show()
        self.last_error = (title, message)

    def _model_failed(self, message: str) -> None:
        self.error("The model could not be loaded", message)

    def _predict_failed(self, _request: int, message: str) -> None:
        self.error("Prediction failed", message)


    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self._close_documents():  # every queued write runs first; nothing is dropped without asking
            event.ignore()
            return
        self.settings.setValue("geometry", self.saveGeometry())
        if getattr(self, "trainer_dialog", None) is not None:
            self.trainer_dialog.done(0)  # a running trainer stops cooperatively: last.pt, resumable later
        self.prefetcher.latest = 1 << 62  # a queued prefetch returns at once
        for thread in (self.predict_thread, self.disk_thread, self.prefetch_thread):
            thread.quit()
            thread.wait(5000)
        super().closeEvent(event)
