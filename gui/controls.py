"""The view and tool controls dock: overlay opacity, extra layer, threshold, calibration, specks, tools."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)


def _slider(maximum: int, value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(0, maximum)
    s.setValue(value)
    return s


class Controls(QWidget):
    """Every control emits ``changed``; the window reads the values through the properties."""

    changed = Signal()
    prediction_changed = Signal()  # calibration: the scorer must re-run
    tool_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        self.opacity = _slider(100, 55)
        self.layer = QComboBox()
        self.layer.addItems(["None", "Heatmap of the selected class", "Uncertainty (1 − margin)"])
        self.threshold = _slider(95, 0)
        self.threshold_label = QLabel()
        self.calibration = _slider(100, 0)
        self.calibration_label = QLabel()
        self.min_area = QSpinBox()
        self.min_area.setRange(0, 100_000)
        self.min_area.setValue(64)
        self.min_area.setSuffix(" px")
        self.min_area.setToolTip("Edit ▸ Remove specks drops label regions smaller than this")
        self.brush = QSpinBox()
        self.brush.setRange(1, 400)
        self.brush.setValue(15)
        self.brush.setSuffix(" px")
        self.brush.setToolTip("Brush size ( [ and ] )")
        tools = QHBoxLayout()
        self.tools = QButtonGroup(self)
        for name, key in (("Brush", "B"), ("Eraser", "E"), ("Pan", "H")):
            b = QToolButton()
            b.setText(name)
            b.setCheckable(True)
            b.setToolTip(f"{name} ({key})")
            b.setObjectName(name.lower())
            self.tools.addButton(b)
            tools.addWidget(b)
        self.tools.buttons()[0].setChecked(True)
        self.tools.buttonClicked.connect(lambda b: self.tool_changed.emit(b.objectName()))
        row = QHBoxLayout()
        row.addWidget(self.threshold, 1)
        row.addWidget(self.threshold_label)
        crow = QHBoxLayout()
        crow.addWidget(self.calibration, 1)
        crow.addWidget(self.calibration_label)
        form.addRow("Tool", tools)
        form.addRow("Brush size", self.brush)
        form.addRow("Mask opacity", self.opacity)
        form.addRow("Layer", self.layer)
        form.addRow("Confidence ≥", row)
        form.addRow("Calibration γ", crow)
        form.addRow("Speck size", self.min_area)
        self.calibration.setToolTip("γ subtracted from seen-class scores (SPNet-C); raise it when seen classes "
                                    "take over unseen objects")
        self.threshold.setToolTip("Pixels whose best class score is below this become background in the draft")
        for s in (self.opacity, self.threshold):
            s.valueChanged.connect(self._changed)
        self.layer.currentIndexChanged.connect(self._changed)
        self.calibration.valueChanged.connect(self._calibration)
        self._labels()

    def _labels(self) -> None:
        self.threshold_label.setText(f"{self.threshold_value:.2f}")
        self.calibration_label.setText(f"{self.calibration_value:.2f}")

    def _changed(self) -> None:
        self._labels()
        self.changed.emit()

    def _calibration(self) -> None:
        self._labels()
        self.prediction_changed.emit()

    def set_tool(self, name: str) -> None:
        for b in self.tools.buttons():
            b.setChecked(b.objectName() == name)
        self.tool_changed.emit(name)

    @property
    def opacity_value(self) -> float:
        return self.opacity.value() / 100

    @property
    def threshold_value(self) -> float:
        return self.threshold.value() / 100

    @property
    def calibration_value(self) -> float:
        return self.calibration.value() / 100

    @property
    def layer_name(self) -> str:
        return ("none", "heatmap", "uncertainty")[self.layer.currentIndex()]
