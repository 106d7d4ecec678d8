"""The main window's overlay: what the canvas's layers show for the open image (a mixin, to keep files short).

Nothing here computes a picture on the UI thread: the label map is handed to the canvas as it is (its colours
are a table), heatmaps and the uncertainty map are built by the canvas's pool for the image on screen, and a
stroke only redraws its region (:mod:`gui.render`).
"""

from __future__ import annotations

import cv2
import numpy as np

from gui.teach_mixin import ERASER

HEAT_OPACITY = 0.85
VEIL = (255, 255, 255, 150)  # "not this class" strokes waiting to be taught


def class_heatmap(result, names: list[str], index: int) -> np.ndarray | None:
    """The [0, 1] map of class ``index`` (of ``names``) in a prediction; a stroke-taught class's is its head's
    probability, upsampled (and the model's own score where the model knows the name too)."""
    if result is None or not 0 <= index < len(names):
        return None
    name = names[index]
    if name in result.taught:
        h, w = result.labels.shape
        heat = cv2.resize(result.taught[name], (w, h), interpolation=cv2.INTER_LINEAR)
        if name in result.names:
            heat = np.maximum(heat, result.prediction.heatmaps[result.names.index(name)])
        return heat
    return result.prediction.heatmaps[result.names.index(name)] if name in result.names else None


class OverlayMixin:
    """Needs the window's ``canvas``, ``history``, ``result``, ``project``, ``draft``, ``controls``, ``classes``,
    ``recorder``, ``overlay_params`` and the undo / redo actions."""

    def heatmap(self, index: int) -> np.ndarray | None:
        """Class ``index``'s map for the open image (None when the model has none for it); computed here."""
        return None if self.project is None else class_heatmap(self.result, self.project.names, index)

    def _has_heatmap(self, index: int) -> bool:
        r = self.result
        if r is None or self.project is None or not 0 <= index < len(self.project.names):
            return False
        return self.project.names[index] in r.taught or self.project.names[index] in r.names

    def refresh_overlay(self) -> None:
        """Show the open image's labels and the chosen layer in the current colours; cheap on the UI thread."""
        if self.history is None or self.project is None:
            return
        colors, visible, opacity = self.overlay_params()
        empty = self.draft and self.result is None  # an empty draft waiting for its prediction
        self.canvas.show_labels(None if empty else self.history.labels, self.history.version, colors, visible,
                                opacity)
        r, layer, index = self.result, self.controls.layer_name, self.classes.current()
        if layer == "heatmap" and self._has_heatmap(index):
            names = list(self.project.names)
            self.canvas.show_heat(r, names[index], lambda: class_heatmap(r, names, index), cv2.COLORMAP_TURBO,
                                  HEAT_OPACITY)
        elif layer == "uncertainty" and r is not None and r.prediction is not None:
            pred = r.prediction
            self.canvas.show_heat(r, "\0uncertainty", lambda: pred.uncertainty, cv2.COLORMAP_MAGMA, HEAT_OPACITY)
        elif self.recorder is not None and ERASER in self.recorder.masks:
            self.canvas.show_mask(self.recorder.masks[ERASER], VEIL)
        else:
            self.canvas.clear_extra()
        self.undo_action.setEnabled(self.history.can_undo)
        self.redo_action.setEnabled(self.history.can_redo)

    def _painted(self, y0: int, x0: int, y1: int, x1: int) -> None:
        self.canvas.labels_changed(y0, x0, y1, x1)
