"""Export dialog: format, scope and destination; runs in a thread with a progress bar and Cancel.

Only labels the labeler saved are exported: the images marked done (the default), or done and draft (saved but
not marked done); a model draft nobody accepted is never a label. The dialog says how many it wrote and which.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
)

from core.annotation.export import export

FORMATS = [("Indexed PNG label maps (+ labelmap.txt)", "indexed"), ("Colour PNG label maps", "colour"),
           ("COCO JSON (RLE per class)", "coco"), ("Dataset to train on (images + label maps)", "dataset")]


class ExportWorker(QObject):
    progress = Signal(int, int)
    finished = Signal(str)  # "" on success, else the error
    cancelled = False
    written = 0  # images written by the last run

    @Slot(object, object, str, str)
    def run(self, project, ids, fmt: str, out: str) -> None:
        self.written = 0
        try:
            for done, total in export(project, ids, fmt, out):
                self.written = done
                self.progress.emit(done, total)
                if self.cancelled:
                    self.finished.emit("cancelled")
                    return
        except Exception as exc:
            self.finished.emit(f"{out}: {exc}")
            return
        self.finished.emit("")


class ExportDialog(QDialog):
    _start = Signal(object, object, str, str)

    def __init__(self, project, current: str | None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export labels")
        self.project, self.current = project, current
        self.format = QComboBox()
        for label, key in FORMATS:
            self.format.addItem(label, key)
        self.scope = QComboBox()
        self.counts = {"done": len(project.ids_with_status("done")),
                       "saved": len(project.ids_with_status("done", "draft"))}
        self.scope.addItem(f"Done images only ({self.counts['done']})", "done")
        self.scope.addItem(f"Done and draft images ({self.counts['saved']})", "saved")
        if current and current in project.saved_ids([current]):
            self.scope.addItem(f"Current image only ({current}, {project.image_status(current)})", "current")
        self.out = QLineEdit(str(project.root / "export"))
        self.out.setMinimumWidth(480)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.out, 1)
        row.addWidget(browse)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self._cancel)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Images", self.scope)
        form.addRow("Destination", row)
        form.addRow(self.bar)
        form.addRow(self.message)
        form.addRow(self.buttons)
        self.format.currentIndexChanged.connect(self._default_name)
        self._default_name()
        self.thread = QThread(self)
        self.worker = ExportWorker()
        self.worker.moveToThread(self.thread)
        self._start.connect(self.worker.run)
        self.worker.progress.connect(self._progress)  # a method, not a lambda: runs in the UI thread (queued)
        self.worker.finished.connect(self._finished)
        self.thread.start()
        self.result_message: str | None = None

    def _progress(self, done: int, total: int) -> None:
        self.bar.setMaximum(total)
        self.bar.setValue(done)

    def _default_name(self) -> None:
        fmt = self.format.currentData()
        base = Path(self.out.text()).parent
        self.out.setText(str(base / ("export.json" if fmt == "coco" else f"export-{fmt}")))

    def _browse(self) -> None:
        if self.format.currentData() == "coco":
            path, _ = QFileDialog.getSaveFileName(self, "COCO JSON", self.out.text(), "JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Export folder", self.out.text())
        if path:
            self.out.setText(path)

    def ids(self) -> list[str]:
        """The images the chosen scope exports (each has a saved label map)."""
        scope = self.scope.currentData()
        if scope == "current":
            return self.project.saved_ids([self.current])
        return self.project.ids_with_status(*(("done",) if scope == "done" else ("done", "draft")))

    def start(self) -> None:
        ids = self.ids()
        if not ids:
            self.message.setText("Nothing to export: no image is marked done yet (Ctrl+Return marks the current one)"
                                 "; or choose “Done and draft images”." if self.scope.currentData() == "done"
                                 else "Nothing to export: no image has saved labels yet.")
            self.result_message = "nothing"
            return
        self.export_button.setEnabled(False)
        self.bar.setVisible(True)
        self.message.setText("Exporting…")
        self._start.emit(self.project, ids, self.format.currentData(), self.out.text())

    def _cancel(self) -> None:
        self.worker.cancelled = True
        if self.export_button.isEnabled():
            self.reject()

    def _finished(self, error: str) -> None:
        self.result_message = error
        self.export_button.setEnabled(True)
        if error == "cancelled":
            self.message.setText("Cancelled; files written so far are complete.")
        elif error:
            self.message.setText(f"Export failed: {error}")
        else:
            what = {"done": "done", "saved": "done and draft", "current": "current"}[self.scope.currentData()]
            self.message.setText(f"Exported {self.worker.written} {what} image(s) to {self.out.text()}")
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")

    def done(self, result: int) -> None:
        self.worker.cancelled = True
        self.thread.quit()
        self.thread.wait(10_000)
        super().done(result)
