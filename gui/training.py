"""Training from the app: a settings form validated before the start, then a run view with live progress.

The run is a separate process (:class:`training.launcher.TrainProcess`), read by a ``QThread``; the app stays
responsive and a trainer crash only shows its error and log here. Cancel is a cooperative stop (the trainer writes
``last.pt``); Resume continues a stopped run. A finished run can become the app's model (exported to ONNX once).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

TASKS = [("Train a Relation Network (RN)", "rn"), ("Train ZS3Net (DeepLabv3+ and GMMN)", "zs3net"),
         ("Train SPNet", "spnet")]


class _Reader(QObject):
    """Reads a TrainProcess's messages in a thread and re-emits them as signals."""

    message = Signal(object)

    @Slot(object)
    def read(self, process) -> None:
        for msg in process.messages():
            self.message.emit(msg)


def validate(data: str, unseen: str, embedding: str) -> tuple[list[str], list[str]]:
    """Errors (blocking) and warnings for the chosen data, split and text encoder, in a labeler's words."""
    from core.data.labelmap import LabelMap

    errors, warnings = [], []
    root = Path(data)
    if not data or not (root / "labelmap.txt").is_file():
        errors.append(f"{data or 'No data folder'}: not a dataset in zerolabel's layout (no labelmap.txt). Pick a "
                      "folder exported with File ▸ Export ▸ Dataset, or made by `zerolabel data`.")
        return errors, warnings
    names = list(LabelMap.read(root / "labelmap.txt").names[1:])
    typed = [n.strip() for n in unseen.split(",") if n.strip()]
    if not typed and (root / "unseen.txt").is_file():
        typed = [n.strip() for n in (root / "unseen.txt").read_text().splitlines() if n.strip()]
    for name in typed:
        if name not in names:
            errors.append(f"Unseen class {name!r} is not one of the dataset's classes ({', '.join(names[:8])}…).")
    if len(set(names) - set(typed)) < 2:
        errors.append("At least two seen classes are needed to train.")
    try:
        from core.embeddings import build_encoder

        missing = build_encoder(embedding).missing(names)
    except Exception as exc:
        errors.append(f"The text encoder {embedding!r} cannot be loaded: {exc}")
        missing = {}
    for name, words in missing.items():
        errors.append(f"The text encoder does not know {', '.join(map(repr, words))} (class {name!r}); rename the "
                      "class or pick another text encoder.")
    if not list((root / "JPEGImages").glob("*")):
        errors.append(f"{root / 'JPEGImages'}: no images.")
    return errors, warnings


class TrainingDialog(QDialog):
    """Settings, then the live run; ``model_chosen`` carries a finished run folder."""

    model_chosen = Signal(str)
    _read = Signal(object)

    def __init__(self, default_data: str = "", runs_dir: str = "", parent=None, project=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setMinimumWidth(620)
        self.task = QComboBox()
        for label, key in TASKS:
            self.task.addItem(label, key)
        self.data = QLineEdit(default_data)
        self.unseen = QLineEdit()
        self.unseen.setPlaceholderText("comma-separated; empty = the dataset's unseen.txt")
        self.embedding = QComboBox()
        self.embedding.addItems(["glove50", "minilm"])
        self.backbone = QComboBox()
        self.backbone.addItems(["tiny", "effnet-lite0"])
        self.preset = QComboBox()
        self.preset.addItems(["fast", "paper"])
        self.steps = QSpinBox()
        self.steps.setRange(0, 1_000_000)
        self.steps.setSpecialValueText("preset's")
        self.out = QLineEdit(str(Path(runs_dir or "runs") / time.strftime("run-%Y%m%d-%H%M%S")))
        self.init = QLineEdit()
        self.init.setPlaceholderText("optional: a run folder to fine-tune (same method), e.g. after corrections")
        self.project = project
        self.from_project = QPushButton("Use this project's done images")
        self.from_project.setEnabled(project is not None)
        self.from_project.setToolTip("Writes the images you marked done, with their labels, as a dataset under "
                                     "the project's runs folder; every class of the project is then seen")
        self.from_project.clicked.connect(self.use_project)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self.data.setText(QFileDialog.getExistingDirectory(self, "Dataset")
                                                         or self.data.text()))
        data_row = QHBoxLayout()
        data_row.addWidget(self.data, 1)
        data_row.addWidget(browse)
        data_row.addWidget(self.from_project)
        self.form = QWidget()
        form = QFormLayout(self.form)
        form.addRow("Task", self.task)
        form.addRow("Labeled data", data_row)
        form.addRow("Unseen classes", self.unseen)
        form.addRow("Text encoder", self.embedding)
        form.addRow("Backbone", self.backbone)
        form.addRow("Preset", self.preset)
        form.addRow("Steps", self.steps)
        form.addRow("Fine-tune from", self.init)
        form.addRow("Run folder", self.out)
        self.problems = QLabel()
        self.problems.setTextFormat(Qt.TextFormat.PlainText)
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #c33;")
        self.bar = QProgressBar()
        self.status = QLabel("Not started")
        self.evaluation = QLabel("")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("Trainer log: warnings and errors appear here")
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.setMinimumHeight(160)
        self.curve = self.plot.plot(pen=pg.mkPen((31, 119, 180), width=2))
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel run")
        self.resume_button = QPushButton("Resume")
        self.use_button = QPushButton("Use as the app's model")
        for b in (self.cancel_button, self.resume_button, self.use_button):
            b.setEnabled(False)
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(lambda: self.model_chosen.emit(self.out.text()))
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        for w in (self.form, self.problems, self.bar, self.status, self.evaluation, self.plot, self.log):
            layout.addWidget(w)
        layout.addLayout(buttons)
        self.process = None
        self.losses: tuple[list[int], list[float]] = ([], [])
        self.last = None
        self.thread = QThread(self)
        self.reader = _Reader()
        self.reader.moveToThread(self.thread)
        self._read.connect(self.reader.read)
        self.reader.message.connect(self._message)
        self.thread.start()

    def train_args(self) -> list[str]:
        args = ["--method", self.task.currentData(), "--data", self.data.text(), "--embedding",
                self.embedding.currentText(), "--backbone", self.backbone.currentText(), "--preset",
                self.preset.currentText(), "--out", self.out.text()]
        if self.unseen.text().strip():
            args += ["--unseen", self.unseen.text().strip()]
        if self.steps.value():
            args += ["--steps", str(self.steps.value())]
        if self.init.text().strip():
            args += ["--init", self.init.text().strip()]
        return args

    def use_project(self) -> None:
        """Write the project's done images as a dataset (all classes seen) and train on it."""
        from core.annotation.export import export_dataset

        done = [i for i in self.project.ids if self.project.image_status(i) == "done"]
        if not done:
            self.problems.setText("No image of this project is marked done yet (File ▸ Mark Done, Ctrl+Enter).")
            return
        out = Path(self.out.text()).parent / time.strftime("data-%Y%m%d-%H%M%S")
        for _ in export_dataset(self.project, done, out):
            pass
        (out / "ImageSets" / "Segmentation" / "val.txt").write_text("".join(f"{i}\n" for i in done))
        self.data.setText(str(out))
        self.unseen.setText("")
        self.problems.setText("")
        self.status.setText(f"{len(done)} done image(s) written to {out} (validation = the same images: "
                            "there is no other labeled data; the test is your next corrections)")

    def start(self, resume: bool = False, extra: list[str] | None = None) -> bool:
        errors, _ = validate(self.data.text(), self.unseen.text(), self.embedding.currentText())
        self.problems.setText("\n".join(errors))
        if errors:
            return False
        from training.launcher import TrainProcess

        self.losses = ([], []) if not resume else self.losses
        self.last = None
        self.process = TrainProcess([*self.train_args(), *(extra or []), *(["--resume"] if resume else [])])
        self.form.setEnabled(False)
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.use_button.setEnabled(False)
        self.status.setText("Starting the trainer…")
        self._read.emit(self.process)
        return True

    def cancel(self) -> None:
        if self.process is not None:
            self.process.cancel()
            self.status.setText("Stopping after this step (a checkpoint is written)…")

    def _message(self, msg) -> None:
        from training.messages import EvalDone, Finished, Log, Started, StepDone

        self.last = msg
        if isinstance(msg, Started):
            self.bar.setMaximum(msg.total_steps)
            self.status.setText(f"{msg.method} on {msg.device}, step {msg.step} of {msg.total_steps}")
        elif isinstance(msg, StepDone):
            self.bar.setValue(msg.step)
            self.status.setText(f"step {msg.step} / {msg.total_steps}   loss {msg.loss:.4f}   lr {msg.lr:.2e}   "
                                f"eta {msg.eta_s / 60:.1f} min")
            self.losses[0].append(msg.step)
            self.losses[1].append(msg.loss)
            if len(self.losses[0]) % 5 == 1:
                self.curve.setData(*self.losses)
        elif isinstance(msg, EvalDone):
            self.evaluation.setText(f"step {msg.step}: seen-class validation mIoU {msg.score:.3f}"
                                    + (" (best so far)" if msg.best else ""))
        elif isinstance(msg, Log):
            self.log.appendPlainText(msg.text)
        elif isinstance(msg, Finished):
            self.curve.setData(*self.losses)
            self.cancel_button.setEnabled(False)
            self.start_button.setEnabled(True)
            self.form.setEnabled(True)
            self.resume_button.setEnabled(msg.status == "stopped")
            self.use_button.setEnabled(msg.status == "done")
            text = {"done": "Finished", "stopped": "Stopped; Resume continues from the last checkpoint",
                    "failed": "The trainer failed (the app is fine)"}[msg.status]
            self.status.setText(f"{text} at step {msg.step}")
            if msg.error:
                self.log.appendPlainText(msg.error)

    def done(self, result: int) -> None:
        if self.process is not None:
            self.process.cancel()
        self.thread.quit()
        self.thread.wait(30_000)
        super().done(result)
