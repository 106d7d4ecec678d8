"""Export dialog: format, scope and destination; runs in a thread with a progress bar and Cancel."""

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

    @Slot(object, object, str, str)
    def run(self, project, ids, fmt: str, out: str) -> None:
        try:
            for done, total in export(project, ids, fmt, out):
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
        saved = len(project.saved_ids())
        self.scope.addItem(f"All saved images of the project ({saved})", "all")
        if current:
            self.scope.addItem(f"Current image only ({current})", "current")
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

    def start(self) -> None:
        ids = [self.current] if self.scope.currentData() == "current" else self.project.ids
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
            self.message.setText(f"Exported to {self.out.text()}")
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")

    def done(self, result: int) -> None:
        self.worker.cancelled = True
        self.thread.quit()
        self.thread.wait(10_000)
        super().done(result)
