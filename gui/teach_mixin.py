"""The window's side of teaching by strokes, built-in models and encode-ahead (a mixin, to keep files short).

Teach: brush a few strokes of a class on the open image (the eraser marks what it is not), then
*Teach from Strokes* (the class panel's button, ``Ctrl+L``): the worker fits the project's stroke head on the
photo model's features and every image's draft then shows the taught classes. The head is saved as
``strokes.npz`` next to ``project.json`` and reloaded with the project; more strokes refine it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer

from gui.teach import BUILTINS, PHOTO_CLASSES, StrokeRecorder, head_path, samples_folder, teach_samples
from gui.workers import TeachRequest, image_key

ERASER = "\0eraser"
#: The labeler stays this long on an image before its neighbours are encoded (flipping through costs nothing).
PREFETCH_DWELL_MS = 250
FLOWER = (233, 30, 99)
TEACH_SHORTCUT = "Ctrl+L"


class TeachMixin:
    """Needs the window's worker signals ``_post_teach`` / ``_post_head`` / ``_post_prefetch``, its widgets."""

    def _init_teach(self) -> None:
        self.recorder: StrokeRecorder | None = None
        self.taught_classes: list[str] = []
        self.teach_seconds: float | None = None
        self._prefetch_seq = 0
        self._prefetch_timer = QTimer(self, singleShot=True, interval=PREFETCH_DWELL_MS, timeout=self._prefetch_now)
        self.worker.taught.connect(self._taught)
        self.worker.teach_failed.connect(self._teach_failed)
        self.classes.teach_requested.connect(self.teach_strokes)
        self.classes.current_changed.connect(self._explain_class)
        self._stroke_last = None
        self.canvas.viewport().installEventFilter(self)

    def _teach_menu(self) -> None:
        """Teach and built-in model entries in the Edit and Model menus."""
        menus = {a.text(): a.menu() for a in self.menuBar().actions() if a.menu() is not None}
        self.teach_action = self._action(menus["&Edit"], "&Teach Selected Class from Strokes", self.teach_strokes,
                                         TEACH_SHORTCUT, tip="Fit the class on the strokes painted on this image")
        model = menus["&Model"]
        for name, label in zip(BUILTINS, ("Built-in: &photos (ImageNet concepts)", "Built-in: &shapes (demo)"),
                               strict=True):
            self._action(model, label, lambda _=False, n=name: self.use_builtin(n))

    def use_builtin(self, name: str, open_samples: bool = False) -> None:
        """Load a built-in model (``photos`` or ``shapes``); optionally open its sample images."""
        self.load_model(name)
        if open_samples:
            self.open_samples(name)

    def open_samples(self, name: str) -> bool:
        """Open the shipped sample images of a built-in model, with starting class names for the photos."""
        if not self.open_path(samples_folder(name)):
            return False
        if name == "photos" and self.project is not None and not self.project.classes and not self.project.read_only:
            for cls in PHOTO_CLASSES:
                self.add_class(cls)
            self._color(PHOTO_CLASSES.index("flower"), FLOWER)  # its own colour is close to sky's
        return True

    # -- strokes ------------------------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        """Record brush and eraser footprints on the canvas (the strokes to teach from)."""
        kind = event.type()
        if watched is self.canvas.viewport() and kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove) \
                and event.buttons() & Qt.MouseButton.LeftButton and self.canvas.tool in ("brush", "eraser"):
            p = self.canvas.mapToScene(event.position().toPoint())
            point = (int(np.floor(p.x())), int(np.floor(p.y())))
            last = self._stroke_last if kind == QEvent.Type.MouseMove and self._stroke_last else point
            self._record_stroke(last, point)
            self._stroke_last = point
        elif kind == QEvent.Type.MouseButtonRelease:
            self._stroke_last = None
        return super().eventFilter(watched, event)

    def _record_stroke(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        if self.history is None or self.project is None or getattr(self.canvas, "_space", False):
            return
        shape = self.history.labels.shape
        if self.recorder is None or self.recorder.shape != shape:
            self.recorder = StrokeRecorder(shape)
        value = self.canvas.value if self.canvas.tool != "eraser" else 0
        if value == 0:
            name = ERASER
        elif 0 < value <= len(self.project.names):
            name = self.project.names[value - 1]
        else:
            return
        radius = self.canvas.brush_radius() if hasattr(self.canvas, "brush_radius") else self.canvas.brush_size / 2
        self.recorder.segment(name, a, b, radius)

    def _explain_class(self, row: int) -> None:
        """A selected class that is not predicted says why in the status bar (the tooltip's sentence)."""
        if self.project is not None and 0 <= row < len(self.project.names):
            reason = self.classes.reasons.get(self.project.names[row])
            if reason:
                self.statusBar().showMessage(f"{reason[0].upper()}{reason[1:]}.", 15000)

    def stroke_overlay(self) -> np.ndarray | None:
        """The strokes waiting to be taught: "not this class" (eraser) strokes as a white veil, so they show."""
        if self.recorder is None or ERASER not in self.recorder.masks:
            return None
        mask = self.recorder.masks[ERASER]
        rgba = np.zeros((*mask.shape, 4), np.uint8)
        rgba[mask > 0] = (255, 255, 255, 150)
        return rgba

    def teach_strokes(self) -> None:
        """Send this image's strokes to the worker, which fits the stroke head and saves it in the project."""
        if self.project is None or self.history is None or self.rgb is None:
            self.error("Nothing to teach", "Open an image and paint a few strokes of the class first.")
            return
        if self.recorder is None or not self.recorder:
            self.error("No strokes to teach from", "Pick the class, paint a few strokes of it on this image with "
                       "the brush (and a few on what it is not, with another class or the eraser), then teach.")
            return
        self.canvas.extra_item.set_array(None)
        strokes, negatives = teach_samples(self.recorder.take(), self.history.labels, self.project.names, ERASER)
        self.statusBar().showMessage(f"Teaching {', '.join(strokes) or 'background'} from strokes…")
        path = "" if self.project.read_only else str(head_path(self.project.root))
        self._post_teach.emit(TeachRequest(self.rgb, image_key(self.project.images[self.image_id]), strokes,
                                           negatives, path))

    def _taught(self, classes: list, seconds: float) -> None:
        self.taught_classes = list(classes)
        self.classes.set_taught(self.taught_classes)
        if seconds > 0:
            self.teach_seconds = seconds
            self.statusBar().showMessage(f"Taught {', '.join(classes)} from strokes in {seconds:.2f} s", 8000)
            self.schedule_prediction(0)

    def _teach_failed(self, message: str) -> None:
        self.error("Could not teach from the strokes", message)

    def _load_head(self) -> None:
        self.taught_classes = []
        self.classes.set_taught([])
        self._post_head.emit(str(head_path(self.project.root)) if self.project is not None else "")

    # -- encode ahead -------------------------------------------------------------------------------------
    def prefetch_neighbours(self) -> None:
        """Decode and encode the next and previous images in the background (bounded caches), once the labeler
        has stayed on this image for :data:`PREFETCH_DWELL_MS`."""
        self._prefetch_timer.start()

    def _prefetch_now(self) -> None:
        if self.project is None or self.image_id not in self.project.ids:
            return
        ids = self.project.ids
        i = ids.index(self.image_id)
        order = [ids[(i + s) % len(ids)] for s in (1, -1) if len(ids) > 1]
        self._prefetch_seq += 1
        self.prefetcher.latest = self._prefetch_seq
        self._post_prefetch.emit(self._prefetch_seq, [str(self.project.images[n]) for n in dict.fromkeys(order)])

    def overlay_params(self) -> tuple:
        """What the draft's colours depend on (the worker colours a draft with them)."""
        c = self.project.classes
        faint = self.controls.layer_name != "none"
        return (tuple(s.color for s in c), tuple(s.visible for s in c),
                self.controls.opacity_value * (0.3 if faint else 1))

