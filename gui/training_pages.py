"""The training wizard's pages (what to do, data and classes, model, run): widgets only, no behaviour.

:class:`gui.training.TrainingDialog` builds them through this mixin and wires them up.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui import training_checks as checks

TASKS = [("Train from a public dataset or a labeled folder · Relation Network (RN)", "rn"),
         ("Train from a public dataset · ZS3Net (DeepLabv3+ and a feature generator)", "zs3net"),
         ("Train from a public dataset · SPNet", "spnet"),
         ("Improve on my unlabeled folder · self-training (ZS5Net)", "selftrain"),
         ("Improve on a folder of my photos (self-training from the photo model)", "photos"),
         ("Learn the classes of my done images · fine-tune an existing run", "finetune")]
TASK_HELP = {
    "rn": "Train from a public dataset or a labeled folder. Method: Relation Network (RN paper), a binary map per "
          "class from the image and the class name's vector; good at classes it never saw.",
    "zs3net": "Train from a public dataset. Method: ZS3Net, DeepLabv3+ on the seen classes, then a generator makes "
              "features for the unseen names and the classifier is refit.",
    "spnet": "Train from a public dataset. Method: SPNet, pixel features projected onto the class names' vectors "
             "(calibrate in the app).",
    "selftrain": "Improve on my unlabeled folder. Method: ZS5Net self-training, a ZS3Net run labels a folder of "
                 "unlabeled images itself (its most confident pixels of each unseen class) and trains on them.",
    "photos": "Improve on a folder of my photos. The photo model (ImageNet concepts, plus your stroke-taught "
              "classes) labels your unlabeled photos; its most confident pixels of each class train a segmenter "
              "(SPNet on EfficientNet-Lite0) that becomes the app's model. Steps: 300 unless you set them.",
    "finetune": "Learn the classes of my done images. Method: fine-tuning, continue from a run's weights on new "
                "labeled data, e.g. the images of this project you marked done: a class that started zero-shot "
                "improves with each corrected image.",
}
ENCODERS = ["glove50", "minilm", "word2vec:/path/to/GoogleNews-vectors-negative300.bin",
            "fasttext:/path/to/cc.en.300.bin", "attributes:/path/to/class_attributes.txt"]


def _browse_row(edit: QLineEdit, title: str, *extra: QWidget) -> QHBoxLayout:
    button = QPushButton("Browse…")
    button.clicked.connect(lambda: edit.setText(QFileDialog.getExistingDirectory(None, title) or edit.text()))
    row = QHBoxLayout()
    for w in (edit, button, *extra):
        row.addWidget(w, 1 if w is edit else 0)
    return row


def encoder_spec(path: str) -> str:
    """The text-encoder spec for a vector file a labeler picked: ``fasttext:`` for .vec and fastText .bin files
    (whose name says so), ``attributes:`` for .csv / CUB attribute files, else ``word2vec:``; '' for no file."""
    if not path:
        return ""
    name = path.lower().rsplit("/", 1)[-1]
    if name.endswith(".vec") or "fasttext" in name or name.startswith(("cc.", "wiki.")):
        return f"fasttext:{path}"
    if name.endswith(".csv") or "attribute" in name:
        return f"attributes:{path}"
    return f"word2vec:{path}"


class WizardPages:
    """Builds the four pages; the dialog keeps the widgets as attributes."""

    def _fill_splits(self) -> None:
        """The papers' splits of the chosen dataset kind (all of them for a folder in our layout)."""
        from core.data.splits import list_splits

        prefix = {"voc": "voc_", "cocostuff": "cocostuff_", "cub": "cub_", "context": "context_"}.get(
            self.data_kind.currentData(), "")
        self.split.blockSignals(True)
        self.split.clear()
        self.split.addItem("(type the unseen classes, or use the dataset's unseen.txt)", "")
        for name in list_splits():
            if name.startswith(prefix):
                self.split.addItem(f"paper split: {name}", f"split:{name}")
        self.split.blockSignals(False)

    def _task_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.task = QComboBox()
        for label, key in TASKS:
            self.task.addItem(label, key)
        form.addRow("Task", self.task)
        self.task_help = QLabel()
        self.task_help.setWordWrap(True)
        self.task_help.setStyleSheet("color: #555;")
        form.addRow("", self.task_help)
        box = QGroupBox(f"Earlier runs in {self.runs_dir}")
        self.runs = QListWidget()
        self.runs.setMinimumHeight(110)
        self.runs.currentItemChanged.connect(self._run_selected)
        self.resume_listed = QPushButton("Resume the selected run")
        self.use_listed = QPushButton("Use as the app's model")
        self.resume_listed.clicked.connect(self.resume_selected)
        self.use_listed.clicked.connect(lambda: self.use_model(str(self.runs.currentItem().data(256).path)))
        row = QHBoxLayout()
        row.addWidget(self.resume_listed)
        row.addWidget(self.use_listed)
        row.addStretch(1)
        inner = QVBoxLayout(box)
        inner.addWidget(self.runs)
        inner.addLayout(row)
        form.addRow(box)
        return page

    def _data_page(self, default_data: str) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.labeled_box = QGroupBox("Labeled data (seen classes are trained, unseen ones never reach a loss)")
        form = QFormLayout(self.labeled_box)
        self.data_kind = QComboBox()
        for label, prefix, what in checks.DATA_KINDS:
            self.data_kind.addItem(label, prefix)
            self.data_kind.setItemData(self.data_kind.count() - 1, what, Qt.ItemDataRole.ToolTipRole)
        self.data = QLineEdit(default_data)
        self.data.setPlaceholderText("the dataset's folder")
        self.from_project = QPushButton("Use this project's done images")
        self.from_project.setEnabled(self.project is not None)
        self.from_project.setToolTip("Writes the images you marked done, with their labels, as a dataset under "
                                     "the project's runs folder; every class of the project is then seen")
        self.from_project.clicked.connect(self.use_project)
        self.unseen = QLineEdit()
        self.unseen.setPlaceholderText("comma-separated class names; empty = the dataset's unseen.txt")
        self.split = QComboBox()
        self.split.currentIndexChanged.connect(lambda: self.split.currentData() and self.unseen.setText(
            self.split.currentData()))
        self.data_kind.currentIndexChanged.connect(self._fill_splits)
        self._fill_splits()
        self.init = QLineEdit()
        self.init.setPlaceholderText("a run folder to start from (same method); needed for “Fine-tune”")
        self.freeze = QCheckBox("Refit only the layers above the backbone (fast; for a few corrected images)")
        self.data_note = QLabel()
        self.data_note.setWordWrap(True)
        self.data_note.setStyleSheet("color: #262;")
        form.addRow("Kind", self.data_kind)
        form.addRow("Folder", _browse_row(self.data, "Dataset", self.from_project))
        form.addRow("Unseen classes", self.unseen)
        form.addRow("", self.split)
        self.init_row = _browse_row(self.init, "Run to fine-tune")
        form.addRow("Fine-tune from", self.init_row)
        form.addRow("", self.freeze)
        form.addRow("", self.data_note)
        self.data_summary = QLabel()  # seen / unseen classes, shown as soon as the fields name a usable dataset
        self.data_summary.setWordWrap(True)
        self.data_summary.setStyleSheet("color: #262;")
        form.addRow("", self.data_summary)
        self._data_timer = QTimer(page, singleShot=True, interval=300)
        self._data_timer.timeout.connect(self.update_data_summary)
        for signal in (self.data.textChanged, self.unseen.textChanged, self.data_kind.currentIndexChanged):
            signal.connect(self._data_timer.start)
        self._data_timer.start()
        self.data_form = form
        self.self_box = QGroupBox("Self-training (ZS5Net): pseudo-labels for the unseen classes on unlabeled images")
        sform = QFormLayout(self.self_box)
        self.base_run = QLineEdit()
        self.base_run.setPlaceholderText("a finished ZS3Net run folder")
        self.unlabeled = QLineEdit()
        self.unlabeled.setPlaceholderText("a folder of images without labels (searched recursively)")
        self.top_p = QDoubleSpinBox()
        self.top_p.setDecimals(0)
        self.top_p.setRange(1, 100)
        self.top_p.setValue(25)
        self.top_p.setSuffix(" % most confident pixels per unseen class")
        self.rounds = QSpinBox()
        self.rounds.setRange(1, 20)
        sform.addRow("ZS3Net run", _browse_row(self.base_run, "ZS3Net run"))
        sform.addRow("Unlabeled images", _browse_row(self.unlabeled, "Unlabeled images"))
        sform.addRow("Pseudo-labels", self.top_p)
        sform.addRow("Rounds", self.rounds)
        layout.addWidget(self.labeled_box)
        layout.addWidget(self.self_box)
        layout.addWidget(self._photos_box())  # gui.training_photos.PhotoTask
        layout.addStretch(1)
        return page

    def _model_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.embedding = QComboBox()
        self.embedding.setEditable(True)
        self.embedding.addItems(ENCODERS)
        self.embedding.setToolTip("glove50 and minilm ship with zerolabel; word2vec:/fasttext:/attributes: take "
                                  "the path of a file you downloaded")
        self.backbone = QComboBox()
        self.backbone.addItems(["effnet-lite0", "tiny", "vgg16", "resnet101"])  # the fast preset's first
        self.pretrained = QCheckBox("ImageNet weights (effnet-lite0 ships them; vgg16 / resnet101 read the torch "
                                    "hub cache)")
        self.pretrained.setChecked(True)
        self.preset = QComboBox()
        self.preset.addItem("fast", "fast")
        self.preset.setItemData(0, "EfficientNet-Lite0 with ImageNet weights, 96 px, 800 steps: minutes on a CPU",
                                Qt.ItemDataRole.ToolTipRole)
        self.preset.addItem("paper", "paper")
        self.preset.setItemData(1, "the papers' settings (VGG16 / ResNet-101, 320 px, 30,000-50,000 steps): a GPU",
                                Qt.ItemDataRole.ToolTipRole)
        self.steps = QSpinBox()
        self.steps.setRange(0, 1_000_000)
        self.steps.setSpecialValueText("the preset's (fast: 2,000; paper: 30,000-50,000)")
        self.device = QComboBox()
        for label, key in (("Automatic (a GPU when there is one)", "auto"), ("CPU", "cpu"), ("GPU (CUDA)", "cuda")):
            self.device.addItem(label, key)
        self.out = QLineEdit(str(self.runs_dir / time.strftime("run-%Y%m%d-%H%M%S")))
        vectors = QPushButton("Vector file…")
        vectors.setToolTip("a word2vec (.bin, .txt), fastText (.bin, .vec) or attributes (.txt, .csv) file")
        vectors.clicked.connect(lambda: self.embedding.setEditText(
            encoder_spec(QFileDialog.getOpenFileName(None, "Word vectors")[0]) or self.embedding.currentText()))
        encoder_row = QHBoxLayout()
        encoder_row.addWidget(self.embedding, 1)
        encoder_row.addWidget(vectors)
        for label, widget in (("Text encoder", encoder_row), ("Backbone", self.backbone), ("", self.pretrained),
                              ("Preset", self.preset), ("Steps", self.steps), ("Device", self.device),
                              ("Run folder", _browse_row(self.out, "Run folder"))):
            form.addRow(label, widget)
        return page

    def _run_page(self) -> QWidget:
        page = QWidget()
        self.bar = QProgressBar()
        self.status = QLabel("Not started")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 4)  # two lines, never squeezed
        self.evaluation = QLabel("")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("Trainer log: warnings and errors appear here")
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.setMinimumHeight(190)
        self.curve = self.plot.plot(pen=pg.mkPen((31, 119, 180), width=2))
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel run")
        self.resume_button = QPushButton("Resume")
        self.use_button = QPushButton("Use as the app's model")
        for b in (self.pause_button, self.cancel_button, self.resume_button, self.use_button):
            b.setEnabled(False)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(lambda: self.use_model(self.out.text()))
        buttons = QHBoxLayout()
        for b in (self.pause_button, self.cancel_button, self.resume_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(page)
        for w in (self.bar, self.status, self.evaluation, self.plot, self.log):
            layout.addWidget(w)
        layout.addLayout(buttons)
        return page
