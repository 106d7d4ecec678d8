"""Training from the app: a wizard (what to do, the data, the model) checked page by page, then the live run.

The run is a separate process (:class:`training.launcher.TrainProcess`), read by a ``QThread``; the app stays
responsive and a trainer crash only shows its error and log here. Pause suspends the trainer, Cancel is a
cooperative stop (the trainer writes ``last.pt``), Resume continues a stopped run. Runs of the runs folder (this
app's and the CLI's, see :mod:`training.runs`) are listed on the first page: an interrupted one resumes from
there, a finished one becomes the app's model (exported to ONNX once).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
)

from gui import training_checks as checks
from gui.training_pages import TASK_HELP, WizardPages
from gui.training_photos import COMMAND as PHOTOS_COMMAND
from gui.training_photos import PhotoTask
from gui.training_preflight import Preflight

PAGES = ("1. What to do", "2. Data and classes", "3. Model", "4. Run")


def _duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class _Reader(QObject):
    """Reads a TrainProcess's messages in a thread and re-emits them as signals."""

    message = Signal(object)

    @Slot(object)
    def read(self, process) -> None:
        for msg in process.messages():
            self.message.emit(msg)


class TrainingDialog(Preflight, PhotoTask, WizardPages, QDialog):
    """The wizard and the run view; ``model_chosen`` carries a finished run folder."""

    model_chosen = Signal(str)
    _read = Signal(object)

    def __init__(self, default_data: str = "", runs_dir: str = "", parent=None, project=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setMinimumWidth(680)
        self.project = project
        self.runs_dir = Path(runs_dir or "runs")
        self.pages = QStackedWidget()
        self.pages.addWidget(self._task_page())
        self.pages.addWidget(self._data_page(default_data))
        self.pages.addWidget(self._model_page())
        self.pages.addWidget(self._run_page())
        self.heading = QLabel()
        self.heading.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.problems = QLabel()
        self.problems.setTextFormat(Qt.TextFormat.PlainText)
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #c33;")
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy a link or path
        self.back_button, self.next_button = QPushButton("◀ Back"), QPushButton("Next ▶")
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.back_button.clicked.connect(lambda: self.go(self.pages.currentIndex() - 1))
        self.next_button.clicked.connect(self.next_page)
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.problems)
        layout.addLayout(buttons)
        self.process = None
        self.command = "train"
        self.losses: tuple[list[int], list[float]] = ([], [])
        self.last = None
        self.thread = QThread(self)
        self.reader = _Reader()
        self.reader.moveToThread(self.thread)
        self._read.connect(self.reader.read)
        self.reader.message.connect(self._message)
        self.thread.start()
        self._plot_timer = QTimer(self)  # the curve redraws at most 4 times a second, never behind for long
        self._plot_timer.timeout.connect(lambda: self.curve.setData(*self.losses))
        self.task.currentIndexChanged.connect(self._task_changed)
        self._task_changed()
        self._init_checks()
        self.refresh_runs()
        self.go(0)

    # -- navigation and checks --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.finished is None

    def settings_enabled(self) -> bool:
        """The settings pages can be changed (not while a run goes on)."""
        return all(self.pages.widget(i).isEnabled() for i in range(3))

    def go(self, index: int) -> None:
        self._drop("page", "export")  # Back, or another page: a check under way no longer applies
        index = max(0, min(index, len(PAGES) - 1))
        self.pages.setCurrentIndex(index)
        self.heading.setText(PAGES[index])
        for i in range(3):
            self.pages.widget(i).setEnabled(not self.running)
        self.back_button.setEnabled(index > 0 and not self.running)
        self.next_button.setVisible(index < 2)
        self.start_button.setVisible(index < 3)
        self.start_button.setEnabled(index == 2 and not self.running)
        if index < 3:
            self.problems.setText("")
        from training.runs import RunFolder

        out = Path(self.out.text().strip())
        if index == 2 and RunFolder(out).started:
            # back from a run to change settings: the next run goes to a new folder (Resume continues the old one)
            self.out.setText(str(out.parent / time.strftime("run-%Y%m%d-%H%M%S")))

    @property
    def kind(self) -> str:
        return self.task.currentData()

    def _task_changed(self) -> None:
        selftrain, finetune = self.kind == "selftrain", self.kind == "finetune"
        self.labeled_box.setVisible(self.kind not in ("selftrain", "photos"))
        self.self_box.setVisible(selftrain)
        self.photos_box.setVisible(self.kind == "photos")
        self.data_form.setRowVisible(self.init_row, finetune)
        self.data_form.setRowVisible(self.freeze, finetune)
        if finetune and not self.init.text().strip():
            self._run_selected(self.runs.currentItem())
        for w in (self.embedding, self.backbone, self.pretrained, self.preset):
            w.setEnabled(self.kind in ("rn", "zs3net", "spnet"))
        self.task_help.setText(TASK_HELP[self.kind])

    def method(self) -> tuple[str, str]:
        """The ``--method`` of this run (a fine-tune takes its run's) and an error."""
        if self.kind == "finetune":
            return checks.run_method(self.init.text().strip())
        return self.kind, ""

    def train_args(self) -> list[str]:
        """Arguments of ``zerolabel train`` / ``selftrain`` / ``selftrain-photos`` for the current settings."""
        device = ["--device", self.device.currentData(), "--export-onnx"]  # "done" = ready to be the app's model
        if self.kind == "photos":
            return self.photo_args(device)
        if self.kind == "selftrain":
            return [self.base_run.text().strip(), "--unlabeled", self.unlabeled.text().strip(), "--top-p",
                    str(self.top_p.value()), "--rounds", str(self.rounds.value()), *(
                        ["--steps", str(self.steps.value())] if self.steps.value() else []),
                    "--out", self.out.text().strip(), *device]
        args = ["--method", self.method()[0], "--data",
                checks.data_spec(self.data_kind.currentData(), self.data.text().strip()), "--embedding",
                self.embedding.currentText().strip(), "--backbone", self.backbone.currentText(), "--preset",
                self.preset.currentText(), "--out", self.out.text().strip(), *device]
        if self.pretrained.isChecked():
            args.append("--pretrained")
        if self.unseen.text().strip():
            args += ["--unseen", self.unseen.text().strip()]
        if self.steps.value():
            args += ["--steps", str(self.steps.value())]
        if self.kind == "finetune":
            args += ["--init", self.init.text().strip(), *(["--freeze-backbone"] if self.freeze.isChecked() else [])]
        return args

    # -- runs -------------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        from training.runs import list_runs

        self.runs.clear()
        for info in list_runs(self.runs_dir):
            item = QListWidgetItem(info.describe())
            item.setData(256, info)
            self.runs.addItem(item)
        if not self.runs.count():
            self.runs.addItem(QListWidgetItem("(no runs yet)"))
        self._run_selected(self.runs.currentItem())

    def _run_selected(self, item) -> None:
        info = item.data(256) if item is not None else None
        self.resume_listed.setEnabled(info is not None and info.resumable)
        self.use_listed.setEnabled(info is not None and info.usable)
        if info is not None and info.usable and self.kind == "finetune":
            self.init.setText(str(info.path))  # the run to fine-tune: the one picked in the list

    def resume_selected(self) -> bool:
        """Continue the selected stopped or interrupted run (``--resume`` with its own settings)."""
        item = self.runs.currentItem()
        info = item.data(256) if item is not None else None
        if info is None or not info.resumable:
            return False
        self.out.setText(str(info.path))
        self.losses = ([s for s, _ in info.losses], [v for _, v in info.losses])  # the curve so far, from the run
        self.curve.setData(*self.losses)
        command = info.command[0] if info.command else "train"  # train or selftrain, as the run was started
        steps = ["--steps", str(self.steps.value())] if self.steps.value() and command == "train" else []
        return self._launch([*info.command[1:], *steps, "--resume", "--device", self.device.currentData(),
                             "--export-onnx"], command, resume=True)

    # -- the run ----------------------------------------------------------------------------------------
    def _launch(self, args: list[str], command: str, resume: bool) -> bool:
        from core.errors import ZerolabelError
        from training.launcher import TrainProcess

        try:
            process = TrainProcess(args, command=command)
        except ZerolabelError as exc:
            self.problems.setText(str(exc))
            return False
        self.process, self.command = process, command
        self.problems.setText("")
        self._plot_timer.start(250)
        self.losses = ([], []) if not resume else self.losses
        self.last = None
        self.go(3)
        for b, on in ((self.pause_button, True), (self.cancel_button, True), (self.resume_button, False),
                      (self.use_button, False)):
            b.setEnabled(on)
        self.pause_button.setText("Pause")
        self.status.setText("Starting the trainer…")
        self._read.emit(self.process)
        return True

    def toggle_pause(self) -> None:
        if self.process is None or self.process.finished is not None:
            return
        if self.process.paused:
            self.process.unpause()
            self.pause_button.setText("Pause")
            self.status.setText(self.status.text().removesuffix("   (paused)"))
        else:
            self.process.pause()
            self.pause_button.setText("Continue")
            self.status.setText(f"{self.status.text()}   (paused)")

    def cancel(self) -> None:
        if self.process is not None:
            self.process.cancel()
            self.pause_button.setEnabled(False)
            self.status.setText("Stopping after this step (a checkpoint is written)…")

    def _message(self, msg) -> None:
        from training.messages import EvalDone, Finished, Log, Started, StepDone

        self.last = msg
        if isinstance(msg, Started):
            self.bar.setMaximum(msg.total_steps)
            self.status.setText(f"{msg.method} on {msg.device}, step {msg.step} of {msg.total_steps}")
        elif isinstance(msg, StepDone):
            self.bar.setValue(msg.step)
            paused = "   (paused)" if self.process is not None and self.process.paused else ""
            self.status.setText(f"step {msg.step} / {msg.total_steps}   loss {msg.loss:.4f}   lr {msg.lr:.2e}   "
                                f"eta {_duration(msg.eta_s)}{paused}")
            self.losses[0].append(msg.step)
            self.losses[1].append(msg.loss)
        elif isinstance(msg, EvalDone):
            self.evaluation.setText(f"step {msg.step}: validation score {checks.explain_score(msg.score)}"
                                    + (" (best so far)" if msg.best else ""))
        elif isinstance(msg, Log):
            self.log.appendPlainText(msg.text)
        elif isinstance(msg, Finished):
            self._finished(msg)

    def _finished(self, msg) -> None:
        self._plot_timer.stop()
        self.curve.setData(*self.losses)
        for b in (self.cancel_button, self.pause_button):
            b.setEnabled(False)
        self.go(3)  # unlocks the settings
        self.resume_button.setEnabled(msg.status == "stopped" and self.command == "train")
        self.use_button.setEnabled(msg.status == "done")
        text = {"done": "Finished", "stopped": "Stopped; Resume continues from the last checkpoint",
                "failed": "The trainer failed (the app is fine)"}[msg.status]
        if msg.status == "stopped" and self.command != "train":
            text = "Stopped; start it again from the first page"
        self.status.setText(f"{text} at step {msg.step}")
        if msg.status == "done":
            self.status.setText(f"Finished at step {msg.step}: the model is in {Path(self.out.text()).name}. “Use "
                                "as the app's model” drafts your classes with it; Back sets up another run.")
            self.log.appendPlainText(f"run folder: {self.out.text()}")
        if msg.error:
            self.log.appendPlainText(msg.error)
        self.refresh_runs()

    def use_model(self, run: str) -> None:
        if self.command == PHOTOS_COMMAND and run == self.out.text():
            run = self.photo_model_folder(run)  # RUN/onnx
        self.model_chosen.emit(run)
        self.status.setText(f"Loading {Path(run).name} as the app's model (the main window's status bar says when "
                            "it is ready)")

    def reject(self) -> None:
        """Escape or the window's close button: a running trainer goes on in the background (Training ▸ Train a
        Model shows it again); only closing the app stops it."""
        if self.running:
            self.hide()
            return
        super().reject()

    def done(self, result: int) -> None:
        self._drop()  # a check still running in a worker finishes unseen
        if self.process is not None:
            self.process.cancel()
        self.thread.quit()
        self.thread.wait(30_000)
        super().done(result)
