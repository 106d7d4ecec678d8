"""Help ▸ Keyboard and Mouse: the shortcut sheet, generated from :data:`gui.shortcuts.SHORTCUTS`."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

from gui.shortcuts import sheet_html


class ShortcutSheet(QDialog):
    """A non-modal sheet listing every shortcut and mouse gesture."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard and mouse")
        self.text = QTextBrowser()
        self.text.setHtml(sheet_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(800, 720)
