"""The view and tool controls dock: tools, brush size (screen pixels), fill tolerance, overlay opacity, extra
layer, threshold, calibration, specks, and brightness / contrast / gamma of the photo (view only)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
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
    view_changed = Signal(float, float, float)  # brightness, contrast, gamma of the shown photo

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
        self.brush.setToolTip("Brush size in screen pixels, the same at any zoom ( [ and ] )")
        self.tolerance = QSpinBox()
        self.tolerance.setRange(0, 255)
        self.tolerance.setValue(24)
        self.tolerance.setToolTip("Fill: how far a colour may be from the clicked pixel's and still be filled")
        tools = QGridLayout()
        tools.setSpacing(2)
        self.tools = QButtonGroup(self)
        for i, (name, tool, key, tip) in enumerate((
                ("Brush", "brush", "B", "paint the selected class"), ("Eraser", "eraser", "E", "paint background"),
                ("Pan", "pan", "H", "drag the view"),
                ("Refine", "refine", "R", "left click grows the class along image edges, right click cuts it"),
                ("Polygon", "polygon", "P", "click corners or drag a lasso; Enter or double-click fills"),
                ("Fill", "fill", "F", "fill the similar-coloured region under the cursor"))):
            b = QToolButton()
            b.setText(name)
            b.setCheckable(True)
            b.setToolTip(f"{name} ({key}): {tip}")
            b.setObjectName(tool)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setMinimumWidth(64)
            b.setStyleSheet("QToolButton:checked { background: #2f6fc4; color: white; border-radius: 3px; }")
            self.tools.addButton(b)
            tools.addWidget(b, i // 3, i % 3)
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
        form.addRow("Fill tolerance", self.tolerance)
        form.addRow("Mask opacity", self.opacity)
        form.addRow("Layer", self.layer)
        form.addRow("Confidence ≥", row)
        form.addRow("Calibration γ", crow)
        form.addRow("Speck size", self.min_area)
        self.brightness, self.contrast, self.gamma = _slider(200, 100), _slider(250, 50), _slider(270, 70)
        for label, slider, tip in (("Brightness", self.brightness, "Brighter or darker photo (view only)"),
                                   ("Contrast", self.contrast, "Stretch the photo's contrast (view only)"),
                                   ("Gamma", self.gamma, "Lift the shadows of a dark photo (view only)")):
            slider.setToolTip(tip)
            slider.valueChanged.connect(self._view)
            form.addRow(label, slider)
        self.reset_view = QPushButton("Reset photo view")
        self.reset_view.clicked.connect(self.reset_photo_view)
        form.addRow("", self.reset_view)
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

    @property
    def view_values(self) -> tuple[float, float, float]:
        """Brightness (-1..1), contrast (0.5..3) and gamma (0.3..3) of the shown photo."""
        return ((self.brightness.value() - 100) / 100, 0.5 + self.contrast.value() / 100,
                0.3 + self.gamma.value() / 100)

    def _view(self) -> None:
        self.view_changed.emit(*self.view_values)

    def reset_photo_view(self) -> None:
        for slider, value in ((self.brightness, 100), (self.contrast, 50), (self.gamma, 70)):
            slider.blockSignals(True)
            slider.setValue(value)
            slider.blockSignals(False)
        self._view()

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
