"""The class panel: free-text class names with colour, visibility, rename, reorder and remove.

The panel only shows the project's class list and asks for changes through signals; the window applies them to
the project (which renumbers saved label maps) and calls :meth:`ClassPanel.set_classes` again. A class whose words
the text encoder does not know (or, for the photo model, that no ImageNet concept supports) is shown in red with a
warning and the reason in its tooltip, and is never predicted. *Teach from Strokes* fits the current class on the
strokes painted on the open image; a taught class is marked with a pencil and predicted on every image.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.annotation import ClassSpec

TAUGHT_MARK = "  ✎"


def swatch(color: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


class ClassPanel(QWidget):
    add_requested = Signal(str)
    rename_requested = Signal(int, str)
    remove_requested = Signal(int)
    move_requested = Signal(int, int)
    visibility_changed = Signal(int, bool)
    color_requested = Signal(int, tuple)
    current_changed = Signal(int)  # 0-based class index, -1 for none
    teach_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.entry = QLineEdit()
        self.entry.setPlaceholderText("Type a class name, press Enter")
        self.entry.setClearButtonEnabled(True)
        self.entry.returnPressed.connect(self._add)
        self.list = QListWidget()
        self.list.setEditTriggers(QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed)
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentRowChanged.connect(self.current_changed)
        self.hint = QLabel("No classes yet. Type what you want to segment, e.g. <i>red triangle</i> or "
                           "<i>sea lion</i>, and press Enter.")
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #888;")
        buttons = QHBoxLayout()
        style = self.style()
        self.up = self._button(style.standardIcon(QStyle.StandardPixmap.SP_ArrowUp), "Move up", lambda: self._move(-1))
        self.down = self._button(style.standardIcon(QStyle.StandardPixmap.SP_ArrowDown), "Move down",
                                 lambda: self._move(1))
        self.color = self._button(None, "Change colour…", self._pick_color, text="Colour…")
        self.remove = self._button(style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon),
                                   "Remove class (its pixels become background)", self._remove)
        self.teach = self._button(None, "Fit the selected class on the strokes painted on this image and predict "
                                  "it on every image (Ctrl+L). Paint a few strokes of what it is not too.",
                                  self.teach_requested.emit, text="Teach from strokes")
        for b in (self.up, self.down, self.color, self.teach):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.entry)
        layout.addWidget(self.hint)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._updating = False
        self.unknown: dict[str, list[str]] = {}
        self.reasons: dict[str, str] = {}  # class name -> why it is not predicted (the model's own sentence)
        self.taught: list[str] = []
        self._classes: list[ClassSpec] = []

    def _button(self, icon, tip: str, slot, text: str = "") -> QToolButton:
        b = QToolButton()
        if icon is not None:
            b.setIcon(icon)
        if text:
            b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # -- view --------------------------------------------------------------------------------------------
    def set_classes(self, classes: list[ClassSpec], unknown: dict[str, list[str]] | None = None,
                    reasons: dict[str, str] | None = None) -> None:
        self._classes = list(classes)
        if unknown is not None:
            self.unknown = unknown
            self.reasons = reasons or {}
        row = self.list.currentRow()
        self._updating = True
        self.list.clear()
        for spec in classes:
            item = QListWidgetItem(swatch(spec.color), spec.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if spec.visible else Qt.CheckState.Unchecked)
            words = self.unknown.get(spec.name)
            reason = self.reasons.get(spec.name)
            if words and reason:
                item.setForeground(QColor(220, 60, 60))
                item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
                item.setToolTip(f"Not predicted: {reason}. Brush a few strokes of it (and of what it is not), "
                                "then press Teach from strokes (Ctrl+L).")
            elif words:
                item.setForeground(QColor(220, 60, 60))
                item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
                item.setToolTip(f"Not predicted: the text encoder does not know {', '.join(map(repr, words))}. "
                                "Rename the class (a synonym, or a more common spelling) or pick another text "
                                "encoder in the Model menu. You can still paint it by hand.")
            elif spec.name in self.taught:
                item.setText(spec.name + TAUGHT_MARK)
                item.setToolTip("Taught from strokes (saved in the project): predicted on every image. Paint more "
                                "strokes and teach again to refine it.")
            else:
                item.setToolTip("Double-click to rename; tick to show or hide")
            self.list.addItem(item)
        self._updating = False
        self.hint.setVisible(not classes)
        if classes:
            self.list.setCurrentRow(min(max(row, 0), len(classes) - 1))

    def set_taught(self, names: list[str]) -> None:
        """Mark the classes taught from strokes (their names gain a pencil)."""
        if list(names) != self.taught:
            self.taught = list(names)
            self.set_classes(self._classes)

    def current(self) -> int:
        return self.list.currentRow()

    # -- requests ----------------------------------------------------------------------------------------
    def _add(self) -> None:
        text = self.entry.text().strip()
        if text:
            self.add_requested.emit(text)
            self.entry.clear()

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        row = self.list.row(item)
        self.visibility_changed.emit(row, item.checkState() == Qt.CheckState.Checked)
        self.rename_requested.emit(row, item.text().removesuffix(TAUGHT_MARK))

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        if row >= 0 and 0 <= row + step < self.list.count():
            self.move_requested.emit(row, row + step)
            self.list.setCurrentRow(row + step)

    def _remove(self) -> None:
        if self.list.currentRow() >= 0:
            self.remove_requested.emit(self.list.currentRow())

    def _pick_color(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        color = QColorDialog.getColor(parent=self, title="Class colour")
        if color.isValid():
            self.color_requested.emit(row, (color.red(), color.green(), color.blue()))
