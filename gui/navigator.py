"""The image navigator: a thumbnail per image with its status (unlabeled / draft / done / error / unsaved).

Thumbnails are decoded in a thread pool (the UI thread never waits on disk) and arrive one by one. A bar above the
list filters it by status (unlabeled / draft / done / needs review) and searches the names.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QWidget

from gui.overlay import to_qimage

THUMB = 64
STATUS_COLOURS = {"unlabeled": QColor(150, 150, 150), "draft": QColor(230, 170, 40),
                  "done": QColor(70, 180, 90), "error": QColor(220, 60, 60),
                  "unsaved": QColor(220, 60, 60),  # a save failed: the edits are held by the window
                  "review": QColor(90, 140, 230)}  # sent back by a reviewer
STATUS_WORDS = {"review": "needs review"}
FILTERS = (("All images", ()), ("Unlabeled", ("unlabeled",)), ("Draft", ("draft",)), ("Done", ("done",)),
           ("Needs review", ("review",)), ("Problems", ("error", "unsaved")))


class _Signals(QObject):
    ready = Signal(str, object, int)  # image id, thumbnail RGB array (or None), folder generation


class _Thumb(QRunnable):
    def __init__(self, image_id: str, path: Path, signals: _Signals, generation: int) -> None:
        super().__init__()
        self.image_id, self.path, self.signals, self.generation = image_id, path, signals, generation

    def run(self) -> None:
        try:
            from core.io.image import read_image

            rgb = read_image(self.path)
            scale = THUMB / max(rgb.shape[:2])
            thumb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA)
        except Exception:
            thumb = None
        self.signals.ready.emit(self.image_id, thumb, self.generation)


class Navigator(QListWidget):
    """Lists the project's images; ``image_chosen`` fires with the id the user picks."""

    image_chosen = Signal(str)
    images_set = Signal()  # a project's images were listed (review notes are shown then)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setUniformItemSizes(True)
        self.setSpacing(1)
        self._signals = _Signals()
        self._signals.ready.connect(self._thumb_ready)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._items: dict[str, QListWidgetItem] = {}
        self._generation = 0  # a thumbnail of a folder opened before never lands on an image of the same id
        self.itemActivated.connect(self._activated)
        self.itemClicked.connect(self._activated)
        self.bar = QWidget(self)  # in the list's top margin, so the list stays the dock's one widget
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search names…")
        self.search.setClearButtonEnabled(True)
        self.filter = QComboBox()
        for text, _statuses in FILTERS:
            self.filter.addItem(text)
        self.filter.setToolTip("Show only images with this status")
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(2, 2, 2, 2)
        row.setSpacing(2)
        row.addWidget(self.search, 1)
        row.addWidget(self.filter)
        self.search.textChanged.connect(self.apply_filter)
        self.filter.currentIndexChanged.connect(self.apply_filter)
        self.search.returnPressed.connect(self._open_first_shown)
        self.setViewportMargins(0, self.bar.sizeHint().height(), 0, 0)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        r = self.contentsRect()
        self.bar.setGeometry(r.x(), r.y(), r.width(), self.bar.sizeHint().height())

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def apply_filter(self) -> None:
        """Hide the images whose status or name does not match the bar; returns nothing, see :meth:`shown`."""
        statuses = FILTERS[max(0, self.filter.currentIndex())][1]
        words = self.search.text().lower().split()
        for image_id, item in self._items.items():
            status = item.data(Qt.ItemDataRole.UserRole + 1)
            hide = bool(statuses) and status not in statuses or any(w not in image_id.lower() for w in words)
            item.setHidden(hide)

    def shown(self) -> list[str]:
        """The image ids the list shows now, in order."""
        return [i for i, item in self._items.items() if not item.isHidden()]

    def _open_first_shown(self) -> None:
        shown = self.shown()
        if shown:
            self.image_chosen.emit(shown[0])

    def set_images(self, images: dict[str, Path], status: dict[str, str]) -> None:
        self._pool.clear()
        self._generation += 1
        self.clear()
        self._items = {}
        blank = QPixmap(THUMB, THUMB)
        blank.fill(QColor(60, 60, 60))
        for image_id, path in images.items():
            item = QListWidgetItem(QIcon(blank), "")
            item.setData(Qt.ItemDataRole.UserRole, image_id)
            item.setToolTip(str(path))
            self.addItem(item)
            self._items[image_id] = item
            self.set_status(image_id, status.get(image_id, "unlabeled"))
            self._pool.start(_Thumb(image_id, path, self._signals, self._generation))
        self.apply_filter()
        self.images_set.emit()

    def set_status(self, image_id: str, status: str) -> None:
        item = self._items.get(image_id)
        if item is None:
            return
        item.setText(f"{image_id}\n{STATUS_WORDS.get(status, status)}")
        item.setForeground(QBrush(STATUS_COLOURS.get(status, QColor(200, 200, 200))))
        item.setData(Qt.ItemDataRole.UserRole + 1, status)
        if self.filter.currentIndex() > 0:  # an image whose status changes may leave the filtered list
            self.apply_filter()

    def set_note(self, image_id: str, note: str) -> None:
        """A reviewer's note on the image, in its tooltip (empty: none)."""
        item = self._items.get(image_id)
        if item is not None:
            item.setData(Qt.ItemDataRole.UserRole + 2, note)
            path = item.toolTip().split("\n")[0]
            item.setToolTip(f"{path}\nSent back: {note}" if note else path)

    def note(self, image_id: str) -> str:
        item = self._items.get(image_id)
        return (item.data(Qt.ItemDataRole.UserRole + 2) or "") if item is not None else ""

    def status(self, image_id: str) -> str | None:
        item = self._items.get(image_id)
        return None if item is None else item.data(Qt.ItemDataRole.UserRole + 1)

    def select(self, image_id: str) -> None:
        item = self._items.get(image_id)
        if item is not None:
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)
            self.scrollToItem(item)

    def _thumb_ready(self, image_id: str, thumb: np.ndarray | None, generation: int) -> None:
        item = self._items.get(image_id)
        if item is None or generation != self._generation:
            return
        if thumb is None:
            item.setIcon(self.style().standardIcon(self.style().StandardPixmap.SP_MessageBoxCritical))
            return
        item.setIcon(QIcon(QPixmap.fromImage(to_qimage(thumb))))

    def _activated(self, item: QListWidgetItem) -> None:
        self.image_chosen.emit(item.data(Qt.ItemDataRole.UserRole))

    def wait_for_thumbnails(self, ms: int = 10_000) -> bool:
        return self._pool.waitForDone(ms)
