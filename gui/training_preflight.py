"""The training wizard's checks run off the UI thread: the window keeps painting while they work.

Next and Start open the dataset and build the text encoder (a ``word2vec:`` file loads gigabytes), and "Use this
project's done images" writes a whole dataset. Each runs in a worker of Qt's global thread pool
(:class:`CheckRunner`); meanwhile the page says "Checking…", Next and Start are disabled, Back and the window's
close button work. A result arrives through a queued signal and is applied only if it is still the answer to
what the pages say: changing a field, going Back or closing drops it.

A mixin of :class:`gui.training.TrainingDialog`; the checks themselves are :mod:`gui.training_checks` (Qt-free).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

from gui import training_checks as checks
from gui.training_photos import COMMAND as PHOTOS_COMMAND


class CheckRunner(QObject):
    """Runs functions in the global thread pool; ``result(token, value)`` comes back on the UI thread."""

    result = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()  # no parent: a worker still running after the dialog closed emits into a live object
        self._tokens = itertools.count(1)
        self.running = 0  # functions started and not answered yet (dropped ones included)
        self.result.connect(self._answered)

    def _answered(self, *_) -> None:
        self.running -= 1

    def submit(self, fn: Callable, *args) -> int:
        """Start ``fn(*args)`` in a worker; returns the token its result will carry (an exception is the result
        when it raises)."""
        token = next(self._tokens)
        self.running += 1
        QThreadPool.globalInstance().start(_Job(self, token, fn, args))
        return token


class _Job(QRunnable):
    def __init__(self, runner: CheckRunner, token: int, fn: Callable, args: tuple) -> None:
        super().__init__()
        self.runner, self.token, self.fn, self.args = runner, token, fn, args

    def run(self) -> None:
        try:
            value = self.fn(*self.args)
        except Exception as exc:  # an unexpected failure is shown on the page, never lost in the worker
            value = exc
        self.runner.result.emit(self.token, value)


def write_done_images(project, out: Path) -> list[str]:
    """Write the project's done images as a dataset in ``out`` (validation = the same images); their ids."""
    from core.annotation.export import export_dataset
    from core.io.atomic import atomic_write_text

    done = project.ids_with_status("done")
    if done:
        for _ in export_dataset(project, done, out):
            pass
        atomic_write_text(out / "ImageSets" / "Segmentation" / "val.txt", "".join(f"{i}\n" for i in done))
    return done


class Preflight:
    """Next, Start, the data summary and "Use this project's done images", each checked in a worker."""

    def _init_checks(self) -> None:
        self.checker = CheckRunner()
        self.checker.result.connect(self._check_result)
        self._pending: dict[str, tuple[int, Callable]] = {}  # channel -> (token, what to do with the result)
        for page in (self.pages.widget(i) for i in range(3)):  # an edit makes a check under way stale
            for edit in page.findChildren(QLineEdit):
                edit.textChanged.connect(self._fields_changed)
            for box in page.findChildren(QComboBox):
                box.currentIndexChanged.connect(self._fields_changed)
                box.editTextChanged.connect(self._fields_changed)
            for button in page.findChildren(QAbstractButton):
                if button.isCheckable():
                    button.toggled.connect(self._fields_changed)
            for spin in page.findChildren(QAbstractSpinBox):
                spin.valueChanged.connect(self._fields_changed)
        for signal in (self.data.textChanged, self.unseen.textChanged, self.data_kind.currentIndexChanged):
            signal.connect(lambda *_: self._drop("summary"))  # a new summary is asked for once typing pauses

    @property
    def checking(self) -> bool:
        """A check of Next / Start, the project's dataset or the photo model's classes is under way."""
        return any(channel in self._pending for channel in ("page", "export", "photos"))

    def fields(self) -> checks.WizardFields:
        """A snapshot of the pages for a check in a worker (widgets are read here, on the UI thread)."""
        return checks.WizardFields(
            task=self.kind, data_kind=self.data_kind.currentData() or "", data=self.data.text().strip(),
            unseen=self.unseen.text(), init=self.init.text().strip(), base_run=self.base_run.text().strip(),
            unlabeled=self.unlabeled.text().strip(), photo_folder=self.photo_folder.text().strip(),
            photo_classes=self.photo_classes.text(), strokes=self.strokes_file(),
            embedding=self.embedding.currentText().strip(), backbone=self.backbone.currentText(),
            pretrained=self.pretrained.isChecked(), device=self.device.currentData(), out=self.out.text().strip())

    def _run_check(self, channel: str, busy: str, then: Callable, fn: Callable, *args) -> None:
        self._drop(channel)
        self._pending[channel] = (self.checker.submit(fn, *args), then)
        if busy:
            self.problems.setStyleSheet("color: #555;")  # a note, not a problem
            self.problems.setText(busy)
            self._show_busy()

    def _show_busy(self) -> None:
        busy = self.checking
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
        index = self.pages.currentIndex()
        self.next_button.setEnabled(not busy)
        self.start_button.setEnabled(index == 2 and not busy and not self.running)
        self.from_project.setEnabled(self.project is not None and "export" not in self._pending)

    def _drop(self, *channels: str) -> None:
        """Forget the checks under way on ``channels`` (all when none named): their results are ignored."""
        busy = self.checking
        for channel in channels or list(self._pending):
            self._pending.pop(channel, None)
        if busy and not self.checking:
            self._not_busy()

    def _not_busy(self) -> None:
        self.problems.setStyleSheet("color: #c33;")
        self.problems.setText("")
        self._show_busy()

    def _fields_changed(self) -> None:
        self._drop("page", "export")

    def _check_result(self, token: int, value) -> None:
        channel = next((c for c, (t, _) in self._pending.items() if t == token), None)
        if channel is not None:
            _, then = self._pending.pop(channel)
            if channel != "summary":
                self._not_busy()
            if isinstance(value, Exception):
                if channel != "summary":
                    self.problems.setText(f"The check failed unexpectedly: {type(value).__name__}: {value}")
            else:
                then(value)

    # -- Next, Start, the summary -------------------------------------------------------------------------
    def next_page(self) -> None:
        """Check the page in a worker; the wizard moves on when it passes."""
        index = self.pages.currentIndex()
        if index == 0 or self.kind is None:
            self.go(index + 1)
            return
        self._run_check("page", "Checking… (opening the data, loading the text encoder)", self._next_checked,
                        checks.check_pages, self.fields(), (index,))

    def _next_checked(self, result: checks.PageCheck) -> None:
        self.problems.setText("\n".join(result.errors))
        if not result.errors:
            self.go(result.index + 1)
            if result.index == 1 and self.kind not in ("selftrain", "photos"):
                self.data_summary.setText(result.summary)

    def start(self, resume: bool = False, extra: list[str] | None = None) -> None:
        """Check every page in a worker, then start the trainer (``resume``: continue the run folder's
        ``last.pt``)."""
        self._run_check("page", "Checking… (opening the data, loading the text encoder)",
                        lambda result: self._start_checked(result, resume, extra), checks.check_pages,
                        self.fields(), (1, 2), not resume)

    def _start_checked(self, result: checks.PageCheck, resume: bool, extra: list[str] | None) -> None:
        if result.errors:
            self.go(result.index)
            self.problems.setText("\n".join(result.errors))
            return
        command = {"selftrain": "selftrain", "photos": PHOTOS_COMMAND}.get(self.kind, "train")
        self._launch([*self.train_args(), *(extra or []), *(["--resume"] if resume else [])], command, resume)

    def update_data_summary(self) -> None:
        """The split's summary (seen / unseen classes, images) while the data page is filled, not only on Next."""
        if self.task.currentData() in ("selftrain", "photos"):
            self._drop("summary")
            self.data_summary.setText("")
            return
        self._run_check("summary", "", lambda result: self.data_summary.setText(
            "" if result.errors else result.summary), checks.check_pages,
            checks.WizardFields(task="rn", data_kind=self.data_kind.currentData() or "",
                                data=self.data.text().strip(), unseen=self.unseen.text()), (1,))

    # -- the project's done images ------------------------------------------------------------------------
    def use_project(self) -> None:
        """Write the project's done images as a dataset (all classes seen), in a worker, and train on it."""
        if hasattr(self.parent(), "flush"):
            self.parent().flush()  # the saves the labeler just made are in the dataset
        out = Path(self.out.text()).parent / time.strftime("data-%Y%m%d-%H%M%S")
        self._run_check("export", "Writing this project's done images as a dataset…",
                        lambda done: self._project_written(done, out), _write_or_say, self.project, out)

    def _project_written(self, done: list[str] | str, out: Path) -> None:
        if isinstance(done, str):  # a full disk, a read-only folder, a damaged label map: say so, train nothing
            self.problems.setText(done)
            return
        if not done:
            self.problems.setText("No image of this project is marked done yet (File ▸ Mark Done, Ctrl+Enter).")
            return
        self.data_kind.setCurrentIndex(0)
        self.data.setText(str(out))
        self.unseen.setText("")
        self.data_note.setText(f"{len(done)} done image(s) written to {out} (validation = the same images: there "
                               "is no other labeled data; the test is your next corrections)")


def _write_or_say(project, out: Path) -> list[str] | str:
    """:func:`write_done_images`, or the message saying why it could not be written."""
    try:
        return write_done_images(project, out)
    except Exception as exc:  # noqa: BLE001 (any failure of the export is the labeler's message)
        return f"Could not write the dataset to {out}: {exc}"
