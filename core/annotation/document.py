"""One open image's annotation state, Qt-free: its labels, whether they are still the model's draft, their undo
history, and what the disk has confirmed as saved. The app's window is a view of it (napari style: plain callbacks,
no Qt), and tests drive it directly.

States of the labels:

* a **draft**: the model's labels, replaced whenever a new prediction arrives (:meth:`ImageDocument.set_draft`);
  nothing to save. The first edit (a paint, a whole-map edit, an undo) makes them the labeler's.
* the labeler's labels, **dirty** until the disk confirms a save of this very version
  (:meth:`ImageDocument.saved`); a save that was only asked for (:meth:`ImageDocument.save_request`) is not enough.

Example:
    >>> import numpy as np
    >>> doc = ImageDocument("img", None, (2, 2))
    >>> _ = doc.set_draft(np.ones((2, 2), np.uint8)); doc.draft, doc.dirty
    (True, False)
    >>> doc.edit(np.zeros((2, 2), np.uint8)); doc.draft, doc.dirty
    (False, True)
    >>> labels, ticket = doc.save_request(); doc.saved(ticket); doc.dirty
    False
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.annotation.history import History

#: What a save carries back from the disk: the history it was taken from and its version then.
Ticket = tuple[History, int]


class Event:
    """A list of plain callbacks (napari's ``EmitterGroup`` in miniature)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class DocumentEvents:
    """``labels(version)``: the labels changed (a draft, an edit, undo / redo, a renumbering);
    ``saved(version)``: the disk confirmed a save; ``save_failed(kind)``: a save or autosave did not reach it."""

    def __init__(self) -> None:
        self.labels, self.saved, self.save_failed = Event(), Event(), Event()


class ImageDocument:
    """The labels of one image with undo, draft and saved state.

    Args:
        image_id: the project's id of the image.
        labels: the saved (or autosaved) label map, or None for an image without labels (an empty draft).
        shape: ``(H, W)`` of the image, for the empty draft.
        from_autosave: the labels are recovered edits the disk does not hold as saved (dirty from the start).
    """

    def __init__(self, image_id: str, labels: np.ndarray | None, shape: tuple[int, int],
                 from_autosave: bool = False) -> None:
        self.image_id = image_id
        self.draft = labels is None
        self.history = History(labels if labels is not None else np.zeros(shape, np.uint8))
        self.saved_version = self.autosaved_version = -1 if from_autosave else 0
        self.events = DocumentEvents()

    @property
    def labels(self) -> np.ndarray:
        """The label map (edited in place by the history)."""
        return self.history.labels

    @property
    def version(self) -> int:
        return self.history.version

    @property
    def dirty(self) -> bool:
        """The labeler's labels have edits the disk has not confirmed as saved."""
        return not self.draft and self.history.version != self.saved_version

    # -- the model's draft ---------------------------------------------------------------------------
    def set_draft(self, labels: np.ndarray) -> bool:
        """Show the model's labels while the labels are still a draft; False (nothing changes) once the labeler
        has edited them: a late prediction never overwrites edits."""
        if not self.draft:
            return False
        self.history.reset(labels)
        self.events.labels.emit(self.history.version)
        return True

    # -- the labeler's edits -------------------------------------------------------------------------
    def edited(self) -> None:
        """The history was changed by an edit (a brush stroke, a fill): a draft becomes the labeler's labels."""
        if self.draft:
            self.draft = False
            self.saved_version = -1  # a draft that was never saved: the first edit makes it dirty
        self.events.labels.emit(self.history.version)

    def edit(self, labels: np.ndarray) -> None:
        """Replace the whole map as one undo step (accept the model's mask, remove specks, clear)."""
        self.history.replace(labels)
        self.edited()

    def undo(self) -> bool:
        if not self.history.undo():
            return False
        self.draft = False
        self.events.labels.emit(self.history.version)
        return True

    def redo(self) -> bool:
        if not self.history.redo():
            return False
        self.events.labels.emit(self.history.version)
        return True

    def renumber(self, lut: np.ndarray) -> None:
        """The project renumbered its classes (``new = lut[old]``): a new map and history; still dirty if it was."""
        dirty = self.dirty
        self.history = History(lut[self.history.labels])
        self.saved_version = self.autosaved_version = -1 if dirty else self.history.version
        self.events.labels.emit(self.history.version)

    # -- saving: the disk confirms -------------------------------------------------------------------
    def save_request(self) -> tuple[np.ndarray, Ticket]:
        """The labels to write and the ticket the disk hands back; from now on they are the labeler's (also an
        accepted draft). Not saved until :meth:`saved` with this ticket."""
        self.autosaved_version = self.history.version  # a failed save autosaves these labels itself
        self.draft = False
        return self.history.labels.copy(), (self.history, self.history.version)

    def autosave_request(self) -> tuple[np.ndarray, Ticket] | None:
        """The labels to autosave, or None when there is nothing new since the last (auto)save."""
        if not self.dirty or self.history.version == self.autosaved_version:
            return None
        self.autosaved_version = self.history.version
        return self.history.labels.copy(), (self.history, self.history.version)

    def owns(self, ticket: Ticket) -> bool:
        """The ticket is of this document's current history (not of a renumbered or reopened one)."""
        return ticket[0] is self.history

    def saved(self, ticket: Ticket) -> None:
        """The disk confirmed the save of ``ticket``: that version is the saved one."""
        if self.owns(ticket):
            self.saved_version = ticket[1]
            self.events.saved.emit(ticket[1])

    def save_failed(self, kind: str, ticket: Ticket) -> None:
        """A ``save`` or ``autosave`` of ``ticket`` did not reach the disk: the labels stay dirty (an autosave is
        tried again on the next tick)."""
        if self.owns(ticket):
            if kind == "autosave":
                self.autosaved_version = -2
            self.events.save_failed.emit(kind)
