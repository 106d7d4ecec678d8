"""The wizard's photo self-training task: the photo model labels a folder of the labeler's own photos (and the
project's stroke-taught classes label what they know); a segmenter learns from the most confident pixels and
becomes the app's model (``zerolabel selftrain-photos``, :mod:`training.photo_selftrain`).

A mixin of :class:`gui.training.TrainingDialog`: the task's widgets, defaults, checks and run arguments. The run
goes through the same launcher and run page as every other training.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QLineEdit

from gui import training_checks as checks

#: The trainer command of this task.
COMMAND = "selftrain-photos"


class PhotoTask:
    """Widgets and behaviour of "Improve on a folder of my photos"."""

    def _photos_box(self) -> QGroupBox:
        from gui.training_pages import _browse_row

        self.photos_box = QGroupBox("Self-training on your photos: the photo model labels them, a segmenter learns "
                                    "from its most confident pixels")
        form = QFormLayout(self.photos_box)
        self.photo_folder = QLineEdit()
        self.photo_folder.setPlaceholderText("a folder of your photos, without labels (searched recursively)")
        self.photo_classes = QLineEdit()
        self.photo_classes.setPlaceholderText("comma-separated class names, e.g. cat, cup, person")
        self.photo_top_p = QDoubleSpinBox()
        self.photo_top_p.setDecimals(0)
        self.photo_top_p.setRange(1, 100)
        self.photo_top_p.setValue(25)
        self.photo_top_p.setSuffix(" % most confident pixels per class")
        self.photo_freeze = QCheckBox("Train only the layers above the backbone (faster; for a few photos)")
        self.photo_note = QLabel()
        self.photo_note.setWordWrap(True)
        self.photo_note.setStyleSheet("color: #262;")
        form.addRow("Photos", _browse_row(self.photo_folder, "Folder of photos"))
        form.addRow("Classes", self.photo_classes)
        form.addRow("Pseudo-labels", self.photo_top_p)
        form.addRow("", self.photo_freeze)
        form.addRow("", self.photo_note)
        self.task.currentIndexChanged.connect(self._photos_chosen)
        return self.photos_box

    def _photos_chosen(self) -> None:
        """The first time the task is picked, its classes are filled in (the photo model is read only then); the
        steps field names this task's default."""
        photos = self.task.currentData() == "photos"
        if photos and not self.photo_classes.text().strip():
            self.fill_photo_classes()
        self._preset_steps = getattr(self, "_preset_steps", "") or self.steps.specialValueText()
        self.steps.setSpecialValueText("300 (the default of photo self-training)" if photos else self._preset_steps)

    def strokes_file(self) -> str:
        """The project's stroke-taught classes (``strokes.npz`` next to ``project.json``), '' when there are none."""
        from gui.teach import head_path

        root = getattr(self.project, "root", None)
        path = head_path(root) if root is not None else None
        return str(path) if path is not None and path.is_file() else ""

    def fill_photo_classes(self) -> None:
        """Default classes: the project's names the photo model supports, plus the stroke-taught ones. The photo
        model is read in a worker (:meth:`gui.training_preflight.Preflight._run_check`); names typed meanwhile are
        kept."""
        from gui.teach import PHOTO_CLASSES

        names = list(self.project.names) if self.project is not None else list(PHOTO_CLASSES)
        self._run_check("photos", "Reading which classes the photo model knows…",
                        lambda found: self._photo_classes_found(names, *found), photo_defaults, names,
                        self.strokes_file())

    def _photo_classes_found(self, names: list[str], usable: list[str], taught: list[str], error: str) -> None:
        if error:  # a damaged photo model install: say so, the labeler can still type names
            self.photo_note.setText(f"The photo model cannot be loaded: {error}")
            return
        if not self.photo_classes.text().strip():
            self.photo_classes.setText(", ".join(usable))
        left = [n for n in names if n not in usable]
        notes = []
        if taught:
            notes.append(f"Stroke-taught classes are included ({', '.join(taught)}): their strokes label them.")
        if left:
            notes.append(f"Left out (no ImageNet concept is close, no strokes): {', '.join(left)}.")
        self.photo_note.setText(" ".join(notes))

    def photo_args(self, device: list[str]) -> list[str]:
        """Arguments of ``zerolabel selftrain-photos`` for the current settings."""
        names = [n.strip() for n in self.photo_classes.text().split(",") if n.strip()]
        args = [self.photo_folder.text().strip(), "--classes", ",".join(names), "--top-p",
                str(self.photo_top_p.value()), "--out", self.out.text().strip(), *device]
        if self.steps.value():
            args += ["--steps", str(self.steps.value())]
        if self.photo_freeze.isChecked():
            args.append("--freeze-backbone")
        if self.strokes_file():
            args += ["--strokes", self.strokes_file()]
        return args

    def photo_model_folder(self, run: str) -> str:
        """The folder to load after a photo self-training: ``RUN/onnx`` (written before the run reports done)."""
        from training.runs import MANIFEST, RunFolder

        onnx = RunFolder(run).onnx
        return str(onnx) if (onnx / MANIFEST).is_file() else run


def photo_defaults(names: list[str], strokes: str) -> tuple[list[str], list[str], str]:
    """``(usable classes, stroke-taught classes, error)`` for :meth:`PhotoTask.fill_photo_classes` (in a worker)."""
    try:
        return checks.photo_classes(names, strokes), checks.stroke_classes(strokes), ""
    except Exception as exc:  # noqa: BLE001 (a damaged photo model install, whatever the error)
        return [], [], str(exc)
