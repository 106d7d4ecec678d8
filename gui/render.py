"""The canvas's layers: numpy buffers drawn without copies, anything heavy built in a thread pool.

* The photo is drawn straight from its RGB array; a brightness / contrast / gamma change is a table look-up, in the
  pool for a large photo (the unadjusted photo shows meanwhile).
* The labels are drawn straight from the label map as an 8-bit indexed image: colours, opacity and visibility are
  its colour table (changing them costs nothing); brush strokes show as soon as the map changes. Class borders are
  a second indexed layer (:func:`gui.overlay.edge_index`), rebuilt in the pool when the whole map changes and by
  region under a stroke.
* A heatmap or the uncertainty map is computed and quantised in the pool, for the image on screen only.

Every pool job carries the generation of its layer: a newer request, or another image, makes it stale, and a stale
result is dropped, never shown. Below :data:`SYNC_PIXELS` everything is built on the UI thread (a few ms).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRectF, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from gui.overlay import edge_index, heat_index, heat_table, label_tables

#: Layers of images up to this many pixels are built on the UI thread; larger ones in the pool.
SYNC_PIXELS = 1_500_000
KINDS = ("image", "edges", "extra")


def wrap(array: np.ndarray | None, table: list[int] | None = None) -> QImage:
    """A QImage over ``array``'s memory (no copy): ``[H, W]`` indexed with ``table``, RGB or RGBA."""
    if array is None:
        return QImage()
    h, w = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_Indexed8)
        image.setColorTable(table or [0] * 256)
        return image
    fmt = QImage.Format.Format_RGBA8888 if array.shape[2] == 4 else QImage.Format.Format_RGB888
    return QImage(array.data, w, h, array.strides[0], fmt)


class ArrayItem(QGraphicsItem):
    """Draws a numpy buffer without copying it (RGB, RGBA, or indexed with a colour table); regions are updated
    in place."""

    def __init__(self) -> None:
        super().__init__()
        self.array: np.ndarray | None = None
        self.image = QImage()
        self._table: list[int] | None = None
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_array(self, array: np.ndarray | None, table: list[int] | None = None) -> None:
        """Show ``array`` (kept, not copied: later writes to it show on the next paint)."""
        self.prepareGeometryChange()
        self.array = None if array is None else np.ascontiguousarray(array)
        self._table = table
        self.image = wrap(self.array, table)
        self.update()

    def set_table(self, table: list[int]) -> None:
        """New colours for an indexed array (opacity, visibility): nothing is recomputed."""
        if self.array is not None and self.array.ndim == 2 and table != self._table:
            self._table = table
            self.image = wrap(self.array, table)
            self.update()

    def set_region(self, y0: int, x0: int, patch: np.ndarray) -> None:
        if self.array is None:
            return
        self.array[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] = patch
        self.update(QRectF(x0, y0, patch.shape[1], patch.shape[0]))

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self.image.isNull():
            painter.drawImage(0, 0, self.image)


def _same(a: tuple | None, b: tuple | None) -> bool:
    """Two ``(object, key)`` tokens name the same thing: the very object (never compared by value), equal keys."""
    return a is not None and b is not None and a[0] is b[0] and a[1] == b[1]


class _Signals(QObject):
    ready = Signal(str, int, object, object)  # layer, generation, token, the built array (or the exception)


class _Job(QRunnable):
    def __init__(self, signals: _Signals, gens: dict, kind: str, gen: int, token, build: Callable) -> None:
        super().__init__()
        self.signals, self.gens, self.kind, self.gen, self.token, self.build = signals, gens, kind, gen, token, build

    def run(self) -> None:
        if self.gens.get(self.kind) != self.gen:  # superseded while queued: no work
            return
        try:
            value = self.build()
        except Exception as exc:  # noqa: BLE001 (reported on the UI thread; the layer stays empty)
            value = exc
        with contextlib.suppress(RuntimeError):  # the canvas is gone
            self.signals.ready.emit(self.kind, self.gen, self.token, value)


class LayersMixin:
    """The canvas's layer items and their background builds; needs ``scene()``, ``history``, ``rgb``, ``adjust``
    and ``_stroke``."""

    def _init_layers(self) -> None:
        self.pool = QThreadPool(self)  # created first, deleted first: it waits for running jobs
        self.pool.setMaxThreadCount(1)  # one build at a time: the UI thread and the model keep the cores
        self._signals = _Signals(self)
        self._signals.ready.connect(self._layer_ready)
        self.image_item, self.labels_item, self.edges_item, self.extra_item = (ArrayItem() for _ in range(4))
        for z, item in enumerate((self.image_item, self.extra_item, self.labels_item, self.edges_item)):
            item.setZValue(z)
            self.scene().addItem(item)
        self._gens = dict.fromkeys(KINDS, 0)
        self._pending: dict[str, object] = {}  # layer -> token of the request in flight
        self._edges_for: tuple | None = None  # (labels, version) the border layer was built from
        self._border_table: list[int] = [0] * 256
        self._shown_version = 0
        self._heat: tuple | None = None  # (owner, name) of the heatmap shown or being built
        self._heat_table: list[int] = [0] * 256
        self.layer_error = ""

    def _post(self, kind: str, token, build: Callable) -> None:
        self._gens[kind] += 1
        self._pending[kind] = token
        self.pool.start(_Job(self._signals, self._gens, kind, self._gens[kind], token, build))

    def _cancel(self, kind: str) -> None:
        self._gens[kind] += 1
        self._pending.pop(kind, None)

    def _small(self, array: np.ndarray | None) -> bool:
        return array is None or array.shape[0] * array.shape[1] <= SYNC_PIXELS

    def _new_image(self) -> None:
        """Another image: every build in flight is stale; derived layers go."""
        for kind in KINDS:
            self._cancel(kind)
        self._edges_for, self._heat = None, None
        self.edges_item.set_array(None)
        self.extra_item.set_array(None)

    def wait_layers(self, ms: int = 30_000) -> bool:
        """Wait for the builds in flight and show them (tests, screenshots)."""
        from PySide6.QtCore import QCoreApplication

        done = self.pool.waitForDone(ms)
        QCoreApplication.sendPostedEvents(self._signals)
        QCoreApplication.processEvents()
        return done and not self._pending

    @Slot(str, int, object, object)
    def _layer_ready(self, kind: str, gen: int, token, value) -> None:
        if gen != self._gens[kind]:
            return  # a newer request or another image
        self._pending.pop(kind, None)
        if isinstance(value, Exception):
            self.layer_error = f"{kind}: {value}"
            return
        if kind == "image":
            if token is self.rgb:
                self.image_item.set_array(value)
        elif kind == "edges":
            labels, version = token
            if labels is not self.labels_item.array:
                return
            if version != self._version():  # edited meanwhile: the stroke's end asks again, else ask now
                if self._stroke is None:
                    self._request_edges(labels)
                return
            self._show_edges(labels, version, value)
        elif kind == "extra" and _same(token, self._heat):
            self.extra_item.set_array(value, self._heat_table)

    # -- the photo ---------------------------------------------------------------------------------------
    def _show_image(self) -> None:
        """The photo, adjusted when brightness / contrast / gamma are set (overrides the tools' copy)."""
        from gui.tools import adjust_lut

        rgb = self.rgb
        self._cancel("image")
        if rgb is None or self.adjust == (0.0, 1.0, 1.0):
            self.image_item.set_array(rgb)
            return
        lut = adjust_lut(*self.adjust)
        if self._small(rgb):
            self.image_item.set_array(cv2.LUT(rgb, lut))
            return
        if self.image_item.array is None or self.image_item.array.shape != rgb.shape:
            self.image_item.set_array(rgb)  # the unadjusted photo until the adjusted one is built
        self._post("image", rgb, lambda: cv2.LUT(rgb, lut))

    # -- labels and their borders ------------------------------------------------------------------------
    def _version(self) -> int:
        h = getattr(self, "history", None)
        return h.version if h is not None and h.labels is self.labels_item.array else self._shown_version

    def show_labels(self, labels: np.ndarray | None, version: int, colors, visible, opacity: float,
                    outline: bool = True) -> None:
        """Draw ``labels`` (kept, not copied) in these colours; ``version`` changes when its content does."""
        fill, self._border_table = label_tables(list(colors), list(visible), opacity, outline)
        self._shown_version = version
        if labels is None:
            self._cancel("edges")
            self._edges_for = None
            self.labels_item.set_array(None)
            self.edges_item.set_array(None)
            return
        if labels is self.labels_item.array:
            self.labels_item.set_table(fill)
            self.labels_item.update()
        else:
            self.labels_item.set_array(labels, fill)
        current = self._edges_for is not None and self._edges_for[0] is labels and self._edges_for[1] == version
        if current:
            self.edges_item.set_table(self._border_table)
        elif not _same(self._pending.get("edges"), (labels, version)):
            self._request_edges(labels)

    def _request_edges(self, labels: np.ndarray) -> None:
        version = self._version()
        if self._small(labels):
            self._cancel("edges")
            self._show_edges(labels, version, edge_index(labels))
            return
        if self._edges_for is None or self._edges_for[0] is not labels:
            self.edges_item.set_array(None)  # another map's borders never show on this one
        self._post("edges", (labels, version), lambda: edge_index(labels))

    def _show_edges(self, labels: np.ndarray, version: int, edges: np.ndarray) -> None:
        self._edges_for = (labels, version)
        self.edges_item.set_array(edges, self._border_table)

    def labels_changed(self, y0: int, x0: int, y1: int, x1: int) -> None:
        """Pixels of the shown label map in rows ``y0:y1``, columns ``x0:x1`` changed (a stroke, a fill)."""
        labels, edges = self.labels_item.array, self.edges_item.array
        if labels is None:
            return
        h, w = labels.shape
        self.labels_item.update(QRectF(x0, y0, x1 - x0, y1 - y0))
        if edges is None or edges.shape != labels.shape:
            return
        ya, xa, yb, xb = max(0, y0 - 2), max(0, x0 - 2), min(h, y1 + 2), min(w, x1 + 2)
        patch = edge_index(labels[ya:yb, xa:xb])  # its outer ring lacks neighbours, unless at the image's edge
        t, lft = int(ya > 0), int(xa > 0)
        b, r = patch.shape[0] - int(yb < h), patch.shape[1] - int(xb < w)
        edges[ya + t:ya + b, xa + lft:xa + r] = patch[t:b, lft:r]
        self.edges_item.update(QRectF(xa, ya, xb - xa, yb - ya))
        if "edges" not in self._pending and self._edges_for is not None and self._edges_for[0] is labels:
            self._edges_for = (labels, self._version())

    # -- heatmap, uncertainty, stroke veil ---------------------------------------------------------------
    def show_heat(self, owner, name: str, compute: Callable[[], np.ndarray], colormap: int,
                  opacity: float) -> None:
        """Show the [0, 1] map ``compute()`` gives; ``(owner, name)`` says which (the same one is not rebuilt)."""
        self._heat_table = heat_table(opacity, colormap)
        same = _same(self._heat, (owner, name))
        if same and self.extra_item.array is not None and "extra" not in self._pending:
            self.extra_item.set_table(self._heat_table)
            return
        if same and "extra" in self._pending:
            return  # being built
        self._heat = (owner, name)
        self.extra_item.set_array(None)  # never another class's or image's map meanwhile
        if self._small(self.rgb):
            self._cancel("extra")
            self.extra_item.set_array(heat_index(compute()), self._heat_table)
        else:
            self._post("extra", self._heat, lambda: heat_index(compute()))

    def show_mask(self, mask: np.ndarray, rgba: tuple[int, int, int, int]) -> None:
        """A uint8 mask (kept, not copied) as a veil of one colour where it is non-zero."""
        self._cancel("extra")
        self._heat = None
        argb = (rgba[3] << 24) | (rgba[0] << 16) | (rgba[1] << 8) | rgba[2]
        self.extra_item.set_array(mask, [0] + [argb] * 255)

    def clear_extra(self) -> None:
        self._cancel("extra")
        self._heat = None
        self.extra_item.set_array(None)
