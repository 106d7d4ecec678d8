"""Opening, switching, saving and exporting of the main window (a mixin, to keep the window file short).

Every write to the project goes through the disk worker's thread, in the order it was asked for (one queue);
:meth:`DocumentsMixin.flush` waits until the queue is empty, so an export or a class change never starts before the
saves it follows. An image is saved only when the disk worker says so: until then it stays dirty, and when a save
fails (a full disk, a read-only folder) the edits are autosaved and kept in memory; leaving the image or quitting
never drops them without asking. The project is locked while it is open; a project another process writes opens
read-only.

The open image's state (labels, draft, undo history, saved version) is a Qt-free
:class:`core.annotation.document.ImageDocument`; this mixin opens, saves and closes it, and
:class:`DocumentSignals` re-emits its plain-callback events as Qt signals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import QMessageBox

from core.annotation import History, Project, ProjectLocked
from core.annotation.document import ImageDocument


class DocumentSignals(QObject):
    """The open document's events as Qt signals: ``labels_changed(version)``, ``saved(version)``,
    ``save_failed(kind)``; :meth:`bind` follows the document the window shows."""

    labels_changed = Signal(int)
    saved = Signal(int)
    save_failed = Signal(str)

    def bind(self, document: ImageDocument | None) -> None:
        if document is not None:
            document.events.labels.connect(self.labels_changed.emit)
            document.events.saved.connect(self.saved.emit)
            document.events.save_failed.connect(self.save_failed.emit)


class DocumentsMixin:
    """Needs the window's widgets, its ``_post_load`` / ``_post_save`` / ``_post_flush`` signals and ``error``."""

    document: ImageDocument | None = None  # the open image's labels, draft, history and saved state

    @property
    def document_signals(self) -> DocumentSignals:
        if getattr(self, "_document_signals", None) is None:
            self._document_signals = DocumentSignals(self)
        return self._document_signals

    def _open_document(self, document: ImageDocument | None) -> None:
        self.document = document
        self.document_signals.bind(document)

    # the window's view of the document (the canvas, tools and edits read these)
    @property
    def history(self) -> History | None:
        return self.document.history if self.document is not None else None

    @history.setter
    def history(self, history: History | None) -> None:
        if history is None:
            self._open_document(None)
        elif self.document is not None:
            self.document.history = history

    @property
    def draft(self) -> bool:
        """The labels are the model's draft, not the user's edits yet."""
        return self.document.draft if self.document is not None else True

    @draft.setter
    def draft(self, draft: bool) -> None:
        if self.document is not None:
            self.document.draft = draft

    @property
    def saved_version(self) -> int:
        return self.document.saved_version if self.document is not None else 0

    @saved_version.setter
    def saved_version(self, version: int) -> None:
        if self.document is not None:
            self.document.saved_version = version

    @property
    def autosaved_version(self) -> int:
        return self.document.autosaved_version if self.document is not None else 0

    @autosaved_version.setter
    def autosaved_version(self, version: int) -> None:
        if self.document is not None:
            self.document.autosaved_version = version

    # -- opening -----------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open a folder of images, a project, or one image.

        A single image opens in a project under the user data folder (its folder's images listed, nothing written
        beside them); File ▸ Open Folder makes the folder itself the project. A folder that already is a project
        opens as that project either way.
        """
        path = Path(path)
        folder, select = (path.parent, path) if path.is_file() else (path, None)
        self.leave_image()
        self.flush()  # the old project's saves finish while it is still locked
        try:
            project = Project.open_folder(folder, private=select is not None)
        except Exception as exc:
            self.error("Could not open the folder", str(exc))
            return False
        if self.project is not None:
            self.project.unlock()
        self.project, self.image_id = project, None
        self._unload()
        self.unsaved = {}
        self._remember(project.root)
        try:
            project.lock()
            self.setWindowTitle(f"zerolabel — {project.root}")
            self.status_read_only.setText("")
            if project.root != folder.resolve():  # a single image, or a folder zerolabel may not write into
                self.setWindowTitle(f"zerolabel — {folder} (labels kept in {project.root}; File ▸ Open Folder "
                                    "keeps them beside the images)")
        except ProjectLocked as exc:
            self.setWindowTitle(f"zerolabel — {project.root} (read-only)")
            self.status_read_only.setText("Read-only: another zerolabel writes this project")
            self.status_read_only.setToolTip(str(exc))
            self.error("Opened read-only", f"{exc}\nYou can look and export; edits cannot be saved here.")
        if project.skipped:
            names = ", ".join(repr(p.name) for p in list(project.skipped)[:5])
            self.error(f"{len(project.skipped)} image file(s) left out",
                       f"{names}{'…' if len(project.skipped) > 5 else ''}: {next(iter(project.skipped.values()))}"
                       "\nRename these files to label them.")
        self.recover = self._ask_recovery(project)
        self.navigator.set_images(project.images, {i: project.image_status(i) for i in project.ids})
        self.classes.set_classes(project.classes, {})
        self._load_head()  # the project's stroke-taught classes
        start = next((i for i, p in project.images.items() if select is not None and p == select.resolve()), None)
        start = start or (project.recoverable() or [None])[0] if self.recover else start
        start = start or project.next_unlabeled() or (project.ids or [None])[0]
        if start is None:
            self.statusBar().showMessage(f"{folder}: no images found (png, jpg, bmp, tif, webp)", 10000)
        else:
            self.show_image(start)
        return True

    def _ask_recovery(self, project: Project) -> bool:
        pending = project.recoverable()
        if not pending or project.read_only:  # read-only: the autosaves are the live edits of the other writer
            return False
        if self.recovery_policy == "ask":
            answer = QMessageBox.question(
                self, "Recover unsaved edits?",
                f"The last session ended before saving edits of {len(pending)} image(s) "
                f"({', '.join(pending[:5])}{'…' if len(pending) > 5 else ''}). Recover them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard)
            keep = answer == QMessageBox.StandardButton.Yes
        else:
            keep = self.recovery_policy == "recover"
        if not keep and not project.read_only:
            try:
                for image_id in pending:
                    project.discard_autosave(image_id)
            except OSError as exc:
                self.error("Could not discard the unsaved edits", f"{exc}; they are offered again next time")
        return keep

    # -- images ------------------------------------------------------------------------------------------
    def show_image(self, image_id: str) -> None:
        if self.project is None or image_id == self.image_id:
            return
        self.leave_image()
        self._unload(keep_picture=True)  # no edit or prediction uses the previous image while this one loads
        self.image_id = image_id
        self.navigator.select(image_id)
        self.statusBar().showMessage(f"Opening {image_id}…")
        self._load_seq += 1  # only the answer to this request is shown (an earlier one for the same id is stale)
        self._request += 1  # and no prediction asked for before (another project may have an image of this id)
        self.worker.latest = self._request
        self._post_load.emit(self.project, image_id, self.recover, self._load_seq)

    def _loaded(self, image_id: str, rgb: np.ndarray, labels: np.ndarray | None, from_autosave: bool,
                seq: int) -> None:
        if image_id != self.image_id or seq != self._load_seq:
            return
        if image_id in self.unsaved:  # its save failed after it was left: the edits in memory come back
            labels, from_autosave = self.unsaved[image_id][0].copy(), True
        self.rgb, self.result, self.pred_labels = rgb, None, None
        self.recorder = None  # strokes to teach from are this image's
        self._open_document(ImageDocument(image_id, labels, rgb.shape[:2], from_autosave))
        self.canvas.history = self.history
        self.canvas.set_image(rgb)
        self.refresh_overlay()
        h, w = rgb.shape[:2]
        self.statusBar().showMessage(f"{image_id}: {w}×{h}" + (" (recovered edits)" if from_autosave else ""), 5000)
        self.schedule_prediction(0)

    def _unload(self, keep_picture: bool = False) -> None:
        self.rgb, self.result, self.pred_labels = None, None, None
        self._open_document(None)
        self.canvas.history = None
        if keep_picture:
            return
        self.canvas.set_image(None)
        self.canvas.labels_item.set_array(None)
        self.canvas.extra_item.set_array(None)

    def _load_failed(self, image_id: str, message: str, seq: int) -> None:
        self.navigator.set_status(image_id, "error")
        if image_id == self.image_id and seq == self._load_seq:
            self.image_id = None
            self._unload()
        self.error(f"Could not open {image_id}", message + "\nThe other images are still available.")

    def step_image(self, step: int) -> None:
        if self.project and self.project.ids:
            ids = self.project.ids
            index = ids.index(self.image_id) if self.image_id in ids else -1
            self.show_image(ids[(index + step) % len(ids)])

    def next_unlabeled(self) -> None:
        nxt = self.project.next_unlabeled(self.image_id) if self.project else None
        if nxt is None:
            self.statusBar().showMessage("Every image has labels", 5000)
        else:
            self.show_image(nxt)

    @property
    def dirty(self) -> bool:
        """The open image has edits the disk has not confirmed as saved."""
        return self.document is not None and self.document.dirty

    def leave_image(self) -> None:
        if self.dirty:
            self.save()

    # -- saving: one ordered queue, saved only when the disk says so -------------------------------------
    def save(self, done: bool | None = None) -> None:
        """Queue a save of the open image (the user's labels from now on, also an accepted draft)."""
        if self.project is None or self.document is None or self.image_id is None:
            return
        labels, ticket = self.document.save_request()
        self._post_save.emit(self.project, self.image_id, labels, False, done, ticket)

    def mark_done(self) -> None:
        self.save(done=True)
        self.flush()  # the next unlabeled image is chosen from what is on disk, this one included
        self.next_unlabeled()

    def autosave(self) -> None:
        if self.project is not None and self.project.read_only:
            return  # nothing can be written; the save says so once, not every few seconds
        request = self.document.autosave_request() if self.document is not None else None
        if request is not None:
            labels, ticket = request
            self._post_save.emit(self.project, self.image_id, labels, True, None, ticket)

    def flush(self) -> None:
        """Wait until every write queued so far is on disk, and take in what the disk worker reported."""
        self._post_flush.emit()  # a blocking call into the disk thread: it returns when the queue before it ran
        QCoreApplication.sendPostedEvents(self)

    def _saved(self, image_id: str, kind: str, ticket: tuple) -> None:
        if kind == "save":
            self.unsaved.pop(image_id, None)
            if self.document is not None and image_id == self.image_id:
                self.document.saved(ticket)  # counts only for the history it was taken from
        if self.project is not None:
            self.navigator.set_status(image_id, self.project.image_status(image_id))
        if kind == "save":
            self.statusBar().showMessage(f"Saved {self.project.label_path(image_id)}", 4000)

    def _save_failed(self, image_id: str, kind: str, message: str, labels: np.ndarray, ticket: tuple,
                     kept: bool) -> None:
        if self.document is not None and image_id == self.image_id:
            self.document.save_failed(kind, ticket)  # an autosave is tried again on the next tick
        if kind == "autosave":
            self.statusBar().showMessage(f"Autosave of {image_id} failed: {message}", 10000)
            return
        self.unsaved[image_id] = (labels, kept)
        self.navigator.set_status(image_id, "unsaved")
        where = ("They are kept in the autosave (recovered when the project is opened again) and in memory"
                 if kept else "They are kept in memory only: do not quit before a save succeeds")
        self.error(f"Could not save {image_id}", f"{message}\nYour edits are not saved. {where}; free some space "
                   "or fix the folder's permissions, then save again (Ctrl+S).")

    def export_dialog(self) -> None:
        from gui.dialogs import ExportDialog

        if self.project is None:
            self.error("Nothing to export", "Open a folder and label an image first.")
            return
        if self.dirty:  # the labeler's own edits; an untouched model draft is never saved as a label
            self.save()
        self.flush()  # the export starts after that save
        ExportDialog(self.project, self.image_id, self).exec()

    def import_dialog(self) -> None:
        """File ▸ Import Labelled Dataset: convert a CVAT / YOLO-seg / LabelMe / COCO export into a new project
        (in a thread) and open it."""
        from gui.dialogs import ImportDialog

        dialog = ImportDialog(self)
        dialog.imported.connect(self.open_path)
        self.import_window = dialog  # kept alive while it is open (non-blocking, window-modal)
        dialog.open()

    def _close_documents(self) -> bool:
        """Save the open image and wait for every write; False when the user keeps the app open."""
        if self.dirty:
            self.save()
        self.flush()
        lost = sorted(i for i, (_, kept) in self.unsaved.items() if not kept)
        if lost and self.close_policy == "ask":
            answer = QMessageBox.warning(
                self, "Edits are not saved",
                f"The edits of {', '.join(lost[:5])}{'…' if len(lost) > 5 else ''} could not be written anywhere "
                "(not even to the autosave). Quit and lose them?",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Discard:
                return False
        if self.project is not None:
            self.project.unlock()
        return True
