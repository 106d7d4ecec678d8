"""Export and import dialogs; each runs its work in a thread, the window stays responsive.

Export: format, scope and destination, with a progress bar and Cancel. Only labels the labeler saved are exported:
the images marked done (the default), or done and draft (saved but not marked done); a model draft nobody accepted
is never a label. The dialog says how many it wrote and which. CVAT writes one zip and COCO one JSON file; the other
formats write a folder.

Import: a CVAT / YOLO-seg / LabelMe / COCO export (file or folder) becomes a new project folder, through
:func:`core.formats.import_dataset` (the one owner of those formats); the window then opens it.
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
           ("COCO JSON (RLE per class)", "coco"), ("Dataset to train on (images + label maps)", "dataset"),
           ("CVAT “Segmentation mask 1.1” zip", "cvat"), ("YOLO-seg polygon text files", "yolo-seg"),
           ("LabelMe JSON (polygons)", "labelme")]
FILE_FORMATS = {"coco": ("export.json", "JSON (*.json)"), "cvat": ("export-cvat.zip", "Zip (*.zip)")}
IMPORT_FORMATS = [("CVAT “Segmentation mask 1.1” (zip or folder)", "cvat"), ("YOLO-seg (folder)", "yolo-seg"),
                  ("LabelMe JSON (folder)", "labelme"), ("COCO JSON (file)", "coco")]


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
        self.out.setText(str(base / (FILE_FORMATS[fmt][0] if fmt in FILE_FORMATS else f"export-{fmt}")))

    def _browse(self) -> None:
        fmt = self.format.currentData()
        if fmt in FILE_FORMATS:  # one file: a COCO JSON or a CVAT zip
            path, _ = QFileDialog.getSaveFileName(self, "Export file", self.out.text(), FILE_FORMATS[fmt][1])
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


class ImportWorker(QObject):
    finished = Signal(int, str)  # images imported, "" on success else the error

    @Slot(str, str, str)
    def run(self, src: str, fmt: str, out: str) -> None:
        from core.formats import import_dataset

        try:
            count = import_dataset(src, fmt, out)
        except Exception as exc:  # shown in the dialog; the user picks another source or folder
            self.finished.emit(0, str(exc))
            return
        self.finished.emit(count, "")


class ImportDialog(QDialog):
    """Source (file or folder) and format, a new project folder; emits ``imported(folder)`` on success."""

    imported = Signal(str)
    _start = Signal(str, str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import labelled dataset")
        self.format = QComboBox()
        for label, key in IMPORT_FORMATS:
            self.format.addItem(label, key)
        self.source, self.out = QLineEdit(), QLineEdit()
        self.source.setMinimumWidth(480)
        source_row, out_row = QHBoxLayout(), QHBoxLayout()
        source_row.addWidget(self.source, 1)
        for text, folder in (("File…", False), ("Folder…", True)):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, f=folder: self._browse_source(f))
            source_row.addWidget(button)
        out_row.addWidget(self.out, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_out)
        out_row.addWidget(browse)
        self.message = QLabel("The new project folder must not exist yet, or be empty.")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Source", source_row)
        form.addRow("New project folder", out_row)
        form.addRow(self.message)
        form.addRow(self.buttons)
        self.thread = QThread(self)
        self.worker = ImportWorker()
        self.worker.moveToThread(self.thread)
        self._start.connect(self.worker.run)
        self.worker.finished.connect(self._finished)
        self.thread.start()
        self.result_message: str | None = None

    def _browse_source(self, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.source.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Dataset file", self.source.text(),
                                                  "Zip or JSON (*.zip *.json)")
        if path:
            self.source.setText(path)
            if path.endswith(".json"):
                self.format.setCurrentIndex(self.format.findData("coco"))
            elif path.endswith(".zip"):
                self.format.setCurrentIndex(self.format.findData("cvat"))
            if not self.out.text():
                self.out.setText(str(Path(path).with_suffix("")) + "-project")

    def _browse_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "New project folder (empty)", self.out.text())
        if path:
            self.out.setText(path)

    def start(self) -> None:
        src, out = self.source.text().strip(), self.out.text().strip()
        if not src or not out:
            self.message.setText("Choose the dataset to import and a new folder for the project.")
            self.result_message = "missing"
            return
        self.import_button.setEnabled(False)
        self.message.setText("Importing…")
        self.result_message = None
        self._start.emit(src, self.format.currentData(), out)

    def _finished(self, count: int, error: str) -> None:
        self.result_message = error
        self.import_button.setEnabled(True)
        if error:
            self.message.setText(f"Import failed: {error}")
            return
        self.message.setText(f"Imported {count} labelled image(s) into {self.out.text()}")
        self.imported.emit(self.out.text().strip())
        self.accept()

    def done(self, result: int) -> None:
        self.thread.quit()
        self.thread.wait(60_000)  # an import in flight finishes (it writes a new folder only)
        super().done(result)
