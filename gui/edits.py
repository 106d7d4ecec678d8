"""Label edits and class-list changes of the main window (a mixin, to keep the window file short).

Whole-map edits (accept the model's mask, remove specks, clear) are one undo step each; class removal and
reordering renumber the saved label maps on disk (the project does that) and the open map here.
"""

from __future__ import annotations

import numpy as np

from core.annotation import History


class EditsMixin:
    """Needs the window's ``project``, ``history``, ``canvas``, ``classes``, ``controls`` and overlay methods."""

    # -- edits -------------------------------------------------------------------------------------------
    def _edit(self, new_labels: np.ndarray) -> None:
        if self.history is None:
            return
        self.history.replace(new_labels)
        self._edited()

    def undo(self) -> None:
        if self.history is not None and self.history.undo():
            self.draft = False
            self.refresh_overlay()

    def redo(self) -> None:
        if self.history is not None and self.history.redo():
            self.refresh_overlay()

    def accept_class(self) -> None:
        row = self.classes.current()
        if self.pred_labels is None or row < 0:
            return
        labels = self.history.labels.copy()
        labels[labels == row + 1] = 0
        labels[self.pred_labels == row + 1] = row + 1
        self._edit(labels)

    def accept_all(self) -> None:
        if self.pred_labels is not None:
            self._edit(self.pred_labels.copy())

    def remove_specks(self) -> None:
        from core.inference.runtime import remove_specks

        if self.history is not None:
            self._edit(remove_specks(self.history.labels, self.controls.min_area.value()))

    def clear_labels(self) -> None:
        if self.history is not None:
            self._edit(np.zeros_like(self.history.labels))

    # -- classes -----------------------------------------------------------------------------------------
    def _class_change(self, fn, *args) -> bool:
        if self.project is None:
            self.statusBar().showMessage("Open an image or a folder first", 5000)
            return False
        self.flush()  # saves queued with the old numbering reach the disk before the maps are renumbered
        try:
            result = fn(*args)
        except Exception as exc:
            self.error("Class list", str(exc))
            self.classes.set_classes(self.project.classes)  # the list shows what the project holds
            return False
        if isinstance(result, np.ndarray):  # saved maps were renumbered: so are the ones held here
            self.unsaved = {i: (result[labels], kept) for i, (labels, kept) in self.unsaved.items()}
        if isinstance(result, np.ndarray) and self.history is not None:
            dirty = self.dirty
            self.history = History(result[self.history.labels])
            self.saved_version = self.autosaved_version = -1 if dirty else self.history.version
            self.canvas.history = self.history
            if self.pred_labels is not None:
                self.pred_labels = result[self.pred_labels]
        self.classes.set_classes(self.project.classes)
        self.refresh_overlay()
        self.schedule_prediction()
        return True

    def add_class(self, name: str) -> None:
        if self._class_change(self.project.add_class if self.project else None, name):
            self.classes.list.setCurrentRow(len(self.project.classes) - 1)

    def remove_class(self, index: int) -> None:
        self._class_change(self.project.remove_class, index)

    def _rename_class(self, index: int, name: str) -> None:
        changed = self.project is not None and self.project.classes[index].name != name
        if changed and not self._class_change(self.project.rename_class, index, name):
            self.classes.set_classes(self.project.classes)

    def _move_class(self, index: int, to: int) -> None:
        self._class_change(self.project.move_class, index, to)

    def _visibility(self, index: int, visible: bool) -> None:
        if self.project is not None and self.project.classes[index].visible != visible:
            self._class_change(lambda: self.project.set_class(index, visible=visible))

    def _color(self, index: int, color: tuple) -> None:
        self._class_change(lambda: self.project.set_class(index, color=color))
