"""The canvas's region tools and view aids (a mixin, to keep the canvas file short).

- Click to refine (``refine``): left click grows the selected class along image edges, right click cuts it
  (:func:`core.annotation.refine.refine_click`).
- Polygon / lasso (``polygon``): clicks add corners, a drag draws a lasso (filled on release); Enter or a
  double-click fills the polygon, Backspace removes the last corner, Escape cancels.
- Fill (``fill``): left click fills the similar-coloured region under the cursor with the class, right click makes
  that region's pixels of the class background.
- View only: brightness / contrast / gamma of the photo; the zoom, the cursor position and the heatmap legend drawn
  over the view's corners (never clipped by status messages, gone when the cursor leaves the image).
Each region edit is one undo step.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from core.annotation.refine import flood_region, polygon_mask, refine_click

LEGENDS = {"heatmap": (cv2.COLORMAP_TURBO, "class score"), "uncertainty": (cv2.COLORMAP_MAGMA, "uncertainty")}


def adjust_lut(brightness: float, contrast: float, gamma: float) -> np.ndarray:
    """A 256-entry table: ``((v / 255) ** (1 / gamma) - 0.5) * contrast + 0.5 + brightness``, clipped."""
    v = np.arange(256) / 255.0
    v = (v ** (1.0 / max(0.05, gamma)) - 0.5) * contrast + 0.5 + brightness
    return np.clip(np.round(v * 255), 0, 255).astype(np.uint8)


class ToolsMixin:
    """Needs the canvas's ``history``, ``value``, ``tool``, ``image_item``, ``painted`` and ``stroke_finished``."""

    def _init_tools(self) -> None:
        self.rgb: np.ndarray | None = None
        self.adjust = (0.0, 1.0, 1.0)  # brightness, contrast, gamma (view only)
        self.legend = "none"  # "none" | "heatmap" | "uncertainty": the scale drawn when that layer is shown
        self.fill_tolerance = 24
        self.polygon: list[tuple[float, float]] = []
        self._lasso = False
        self._seeds: tuple[tuple[int, int, int], list[tuple[int, int, bool]]] = ((0, 0, 0), [])
        self._poly_item = QGraphicsPathItem()
        pen = QPen(QColor(255, 230, 0), 2)
        pen.setCosmetic(True)
        self._poly_item.setPen(pen)
        self._poly_item.setZValue(11)
        self.scene().addItem(self._poly_item)

    # -- the photo, view only ----------------------------------------------------------------------------
    def _show_image(self) -> None:
        rgb = self.rgb
        if rgb is not None and self.adjust != (0.0, 1.0, 1.0):
            rgb = adjust_lut(*self.adjust)[rgb]
        rgba = None if rgb is None else np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
        self.image_item.set_array(rgba)

    def set_adjust(self, brightness: float, contrast: float, gamma: float) -> None:
        """Brightness (-1..1), contrast (factor) and gamma of the shown photo; labels and saves are untouched."""
        self.adjust = (float(brightness), float(contrast), float(gamma))
        self._show_image()

    def set_legend(self, layer: str) -> None:
        self.legend = layer
        self.viewport().update()

    # -- region edits ------------------------------------------------------------------------------------
    def apply_region(self, region: np.ndarray, add: bool) -> int:
        """Paint ``region`` with the selected class (``add``) or make its pixels of that class background."""
        if self.history is None or not region.any():
            return 0
        labels = self.history.labels
        sel = region & (labels != self.value) if add else region & (labels == self.value)
        ys, xs = np.nonzero(sel)
        if not len(ys):
            return 0
        with self.history.stroke():
            changed = self.history.paint(ys * labels.shape[1] + xs, self.value if add else 0)
        self.painted.emit(int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
        self.stroke_finished.emit()
        return changed

    def refine_at(self, x: int, y: int, add: bool) -> int:
        if self.history is None or self.rgb is None:
            return 0
        # the clicks on this class of this image stay seeds, until anything else (an undo, a stroke) edits the map
        key = (id(self.history), self.value, self.history.version)
        if self._seeds[0] != key:
            self._seeds = (key, [])
        old = self.history.labels == self.value
        new = refine_click(self.rgb, old, x, y, add, seeds=self._seeds[1])
        changed = self.apply_region(new & ~old if add else old & ~new, add)
        self._seeds = ((id(self.history), self.value, self.history.version), self._seeds[1] + [(x, y, add)])
        return changed

    def fill_at(self, x: int, y: int, add: bool) -> int:
        if self.history is None or self.rgb is None:
            return 0
        return self.apply_region(flood_region(self.rgb, x, y, self.fill_tolerance), add)

    def finish_polygon(self) -> int:
        points, self.polygon = self.polygon, []
        self._lasso = False
        self._poly_item.setPath(QPainterPath())
        if self.history is None or len(points) < 3:
            return 0
        return self.apply_region(polygon_mask(self.history.labels.shape, points), True)

    def cancel_polygon(self) -> None:
        self.polygon, self._lasso = [], False
        if hasattr(self, "_poly_item"):
            self._poly_item.setPath(QPainterPath())

    def _draw_polygon(self, cursor: tuple[float, float] | None = None) -> None:
        path = QPainterPath()
        for i, (x, y) in enumerate(self.polygon + ([cursor] if cursor and self.polygon else [])):
            path.lineTo(x, y) if i else path.moveTo(x, y)
        self._poly_item.setPath(path)

    # -- events (return True when handled) ---------------------------------------------------------------
    def _tool_press(self, event, point: tuple[int, int]) -> bool:
        x, y = point
        left = event.button() == Qt.MouseButton.LeftButton
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) or self._space:
            return False
        if self.tool == "refine":
            self.refine_at(x, y, left)
        elif self.tool == "fill":
            self.fill_at(x, y, left)
        elif self.tool == "polygon" and left:
            self.polygon.append((x + 0.5, y + 0.5))
            self._lasso = len(self.polygon) == 1  # a drag from the first corner is a lasso
            self._draw_polygon()
        elif self.tool == "polygon":  # right click: drop the last corner
            self.polygon = self.polygon[:-1]
            self._draw_polygon()
        return True

    def _tool_move(self, event, point: tuple[int, int]) -> bool:
        if self.tool != "polygon" or not self.polygon:
            return False
        p = (point[0] + 0.5, point[1] + 0.5)
        if self._lasso and event.buttons() & Qt.MouseButton.LeftButton:
            last = self.polygon[-1]
            if (p[0] - last[0]) ** 2 + (p[1] - last[1]) ** 2 >= self.brush_radius() ** 2 / 16:
                self.polygon.append(p)
            self._draw_polygon()
        else:
            self._draw_polygon(p)
        return True

    def _tool_release(self, event, point: tuple[int, int]) -> bool:
        if self.tool != "polygon":
            return False
        if self._lasso and len(self.polygon) >= 8:  # a drawn lasso fills on release
            self.finish_polygon()
        self._lasso = False
        return True

    def _tool_key(self, event) -> bool:
        if self.tool != "polygon" or not self.polygon:
            return False
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish_polygon()
        elif event.key() == Qt.Key.Key_Escape:
            self.cancel_polygon()
        elif event.key() == Qt.Key.Key_Backspace:
            self.polygon = self.polygon[:-1]
            self._draw_polygon()
        else:
            return False
        return True

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.tool == "polygon" and self.polygon:
            self.finish_polygon()
            return
        super().mouseDoubleClickEvent(event)

    # -- corner captions ---------------------------------------------------------------------------------
    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802 (Qt API)
        if self.rgb is None:
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(painter.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.95))
        painter.setFont(font)
        text = f"{self.zoom_percent} %"
        if self.cursor_pos is not None:
            text += f"   x {self.cursor_pos[0]}  y {self.cursor_pos[1]}"
        view = self.viewport().rect()
        metrics = painter.fontMetrics()
        box = QRectF(6, view.height() - metrics.height() - 12, metrics.horizontalAdvance(text) + 14,
                     metrics.height() + 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        if self.legend in LEGENDS and self.extra_item.array is not None:
            self._draw_legend(painter, view, metrics)
        painter.restore()

    def _draw_legend(self, painter: QPainter, view, metrics) -> None:
        cmap, title = LEGENDS[self.legend]
        colours = cv2.applyColorMap(np.linspace(0, 255, 11).astype(np.uint8)[:, None], cmap)[:, 0, ::-1]
        w, h = 160, 10
        x0, y0 = view.width() - w - 16, view.height() - h - 2 * metrics.height() - 14
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(QRectF(x0 - 8, y0 - metrics.height() - 6, w + 16, h + 2 * metrics.height() + 14), 4, 4)
        gradient = QLinearGradient(QPointF(x0, 0), QPointF(x0 + w, 0))
        for i, c in enumerate(colours):
            gradient.setColorAt(i / 10, QColor(int(c[0]), int(c[1]), int(c[2])))
        painter.setBrush(gradient)
        painter.drawRect(QRectF(x0, y0, w, h))
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(QRectF(x0, y0 - metrics.height() - 2, w, metrics.height()), Qt.AlignmentFlag.AlignCenter,
                         title)
        below = QRectF(x0, y0 + h + 2, w, metrics.height())
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft, "0")
        painter.drawText(below, Qt.AlignmentFlag.AlignCenter, "0.5")
        painter.drawText(below, Qt.AlignmentFlag.AlignRight, "1")

