"""The image canvas: the picture, the label overlay and an optional heatmap / uncertainty layer; brush and eraser
painting into the document's :class:`~core.annotation.History` (one stroke = one undo step); zoom and pan.

The brush size is in screen pixels: a 15-px brush covers 15 screen pixels at any zoom (on a 4000x3000 photo shown
whole that is about 60 image pixels), and its outline follows the cursor. Click to refine, polygon / lasso fill and
flood fill live in :class:`gui.tools.ToolsMixin`; the zoom, the cursor position and the heatmap legend are drawn
over the view's corners. Every key and gesture is listed in :mod:`gui.shortcuts`.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsScene, QGraphicsView

from core.annotation import History
from gui.render import ArrayItem, LayersMixin
from gui.tools import ToolsMixin

__all__ = ["ArrayItem", "Canvas"]


class Canvas(LayersMixin, ToolsMixin, QGraphicsView):
    """Shows one image with its layers and turns mouse strokes into label edits; the layers are drawn from numpy
    buffers without copies, anything heavy is built off the UI thread (:mod:`gui.render`)."""

    painted = Signal(int, int, int, int)  # y0, x0, y1, x1 of the changed region
    stroke_finished = Signal()
    zoom_changed = Signal(float)
    cursor_moved = Signal(int, int)  # image x, y

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setBackgroundBrush(QBrush(QColor(38, 38, 42)))
        self.setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._stroke = None
        self._init_layers()
        self.cursor_item = QGraphicsEllipseItem()  # the brush outline: white over a dark halo, any background
        pen = QPen(QColor(255, 255, 255), 1.5)
        pen.setCosmetic(True)
        self.cursor_item.setPen(pen)
        self.cursor_item.setZValue(10)
        self.cursor_item.setVisible(False)
        self.scene().addItem(self.cursor_item)
        halo = QGraphicsEllipseItem(self.cursor_item)
        halo_pen = QPen(QColor(0, 0, 0, 160), 3.5)
        halo_pen.setCosmetic(True)
        halo.setPen(halo_pen)
        halo.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        self.cursor_halo = halo
        self.history: History | None = None
        self.tool = "brush"  # "brush" | "eraser" | "pan" | "refine" | "polygon" | "fill"
        self.value = 1  # the class index the brush paints
        self.brush_size = 15  # screen pixels
        self.cursor_pos: tuple[int, int] | None = None  # image pixel under the cursor; None when outside
        self._init_tools()
        self._last: tuple[int, int] | None = None
        self._stroke = None
        self._pan_from: QPointF | None = None
        self._space = False

    # -- content -----------------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | None) -> None:
        """Show ``rgb`` (kept, not copied); the derived layers of the previous image go, and its builds in flight
        are dropped. The labels are the caller's (:meth:`show_labels`)."""
        self.rgb = rgb
        self.cancel_polygon()
        self._new_image()
        self._show_image()
        h, w = (0, 0) if rgb is None else rgb.shape[:2]
        self.scene().setSceneRect(QRectF(-w, -h, 3 * w, 3 * h))  # room to pan past the edges
        self.fit()

    def fit(self) -> None:
        rect = self.image_item.boundingRect()
        if rect.width() > 0:
            self.fitInView(rect.adjusted(-4, -4, 4, 4), Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.transform().m11())
            self._update_cursor_size()
            self.viewport().update()

    @property
    def zoom_percent(self) -> int:
        return round(100 * self.transform().m11())

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.02 < scale < 64:
            self.scale(factor, factor)
            self.zoom_changed.emit(scale)
            self._update_cursor_size()
            self.viewport().update()

    def set_brush_size(self, size: int) -> None:
        self.brush_size = int(max(1, min(400, size)))
        self._update_cursor_size()

    def brush_radius(self) -> float:
        """The brush radius in image pixels at the current zoom (its size is in screen pixels)."""
        return self.brush_size / 2 / max(1e-6, self.transform().m11())

    def _update_cursor_size(self) -> None:
        r = self.brush_radius()
        c = self.cursor_item.rect().center()
        for item in (self.cursor_item, self.cursor_halo):
            item.setRect(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))

    # -- painting ----------------------------------------------------------------------------------------
    def _image_point(self, event) -> tuple[int, int]:
        p = self.mapToScene(event.position().toPoint())
        return int(np.floor(p.x())), int(np.floor(p.y()))

    def _paint_segment(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        if self.history is None:  # the image was left during the stroke
            return
        labels = self.history.labels
        h, w = labels.shape
        r = max(1, round(self.brush_radius()))
        x0, x1 = max(0, min(a[0], b[0]) - r - 1), min(w, max(a[0], b[0]) + r + 2)
        y0, y1 = max(0, min(a[1], b[1]) - r - 1), min(h, max(a[1], b[1]) + r + 2)
        if x0 >= x1 or y0 >= y1:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        pa, pb = (a[0] - x0, a[1] - y0), (b[0] - x0, b[1] - y0)
        if self.brush_radius() < 1:
            cv2.line(mask, pa, pb, 1, 1)
        else:
            cv2.line(mask, pa, pb, 1, thickness=2 * r, lineType=cv2.LINE_8)
            cv2.circle(mask, pa, r, 1, -1)
            cv2.circle(mask, pb, r, 1, -1)
        ys, xs = np.nonzero(mask)
        flat = (ys + y0) * w + (xs + x0)
        value = 0 if self.tool == "eraser" else self.value
        if self.history.paint(flat, value):
            self.painted.emit(y0, x0, y1, x1)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        pan = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and (self._space or self.tool == "pan"))
        if pan:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        tool_click = self.tool in ("refine", "polygon", "fill") and self.history is not None
        if tool_click and self._tool_press(event, self._image_point(event)):
            return
        if event.button() == Qt.MouseButton.LeftButton and self.history is not None and self.tool in (
                "brush", "eraser"):
            self._stroke = self.history.stroke()
            self._stroke.__enter__()
            self._last = self._image_point(event)
            self._paint_segment(self._last, self._last)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        x, y = self._image_point(event)
        self.cursor_moved.emit(x, y)
        inside = self.rgb is not None and 0 <= x < self.rgb.shape[1] and 0 <= y < self.rgb.shape[0]
        self.cursor_pos = (x, y) if inside else None
        self.viewport().update()
        r = self.brush_radius()
        for item in (self.cursor_item, self.cursor_halo):
            item.setRect(QRectF(x + 0.5 - r, y + 0.5 - r, 2 * r, 2 * r))
        self.cursor_item.setVisible(self.tool in ("brush", "eraser") and self.history is not None)
        if self._tool_move(event, (x, y)):
            return
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if self._stroke is not None and self._last is not None:
            self._paint_segment(self._last, (x, y))
            self._last = (x, y)
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        if self._tool_release(event, self._image_point(event)):
            return
        if self._stroke is not None:
            stroke, self._stroke, self._last = self._stroke, None, None
            stroke.__exit__(None, None, None)
            self.stroke_finished.emit()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.cursor_item.setVisible(False)
        self.cursor_pos = None  # no stale coordinates
        self.viewport().update()
        super().leaveEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._tool_key(event):
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)
