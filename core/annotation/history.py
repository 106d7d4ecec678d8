"""Undo / redo of label-map edits as numpy atoms, after napari's labels layer.

An atom is ``(flat indices, old values, new values)`` of the pixels one edit changed. A brush stroke is many small
paints merged into one undo step by :meth:`History.stroke`. Memory is bounded: the oldest steps are dropped when
the atoms hold more than ``max_bytes``.

Example:
    >>> import numpy as np
    >>> labels = np.zeros((4, 4), np.uint8)
    >>> h = History(labels)
    >>> with h.stroke():
    ...     _ = h.paint(np.array([0, 1]), 3)
    >>> int(labels.sum()), h.undo(), int(labels.sum())
    (6, True, 0)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

Atom = tuple[np.ndarray, np.ndarray, np.ndarray]


class History:
    """Edits of one ``uint8 [H, W]`` label map, in place, with bounded undo / redo."""

    def __init__(self, labels: np.ndarray, max_bytes: int = 64 << 20) -> None:
        self.labels = labels
        self.max_bytes = max_bytes
        self._undo: deque[list[Atom]] = deque()
        self._redo: deque[list[Atom]] = deque()
        self._open: list[Atom] | None = None
        self._bytes = 0
        self.version = 0  # bumps on every change (autosave and overlay refresh watch it)

    @staticmethod
    def _size(step: list[Atom]) -> int:
        return sum(i.nbytes + o.nbytes + n.nbytes for i, o, n in step)

    @contextmanager
    def stroke(self) -> Iterator[None]:
        """Make every paint inside the block one undo step."""
        outer = self._open is None
        if outer:
            self._open = []
        try:
            yield
        finally:
            if outer:
                step, self._open = self._open, None
                if step:
                    self._push(self._merge(step))

    @staticmethod
    def _merge(step: list[Atom]) -> list[Atom]:
        """One atom per stroke: the first old value and the last new value of each pixel."""
        if len(step) == 1:
            return step
        idx = np.concatenate([a[0] for a in step])
        old = np.concatenate([a[1] for a in step])
        new = np.concatenate([a[2] for a in step])
        uniq, first = np.unique(idx, return_index=True)
        _, last_rev = np.unique(idx[::-1], return_index=True)
        last = len(idx) - 1 - last_rev
        keep = old[first] != new[last]
        return [(uniq[keep], old[first][keep], new[last][keep])]

    def _push(self, step: list[Atom]) -> None:
        self._undo.append(step)
        self._bytes += self._size(step) - sum(self._size(s) for s in self._redo)
        self._redo.clear()
        while self._bytes > self.max_bytes and len(self._undo) > 1:
            self._bytes -= self._size(self._undo.popleft())

    def paint(self, flat_indices: np.ndarray, value: int | np.ndarray) -> int:
        """Set pixels (flat indices into the label map) to ``value``; returns how many changed."""
        flat = self.labels.reshape(-1)
        idx = np.asarray(flat_indices, np.int64).reshape(-1)
        new = np.broadcast_to(np.asarray(value, np.uint8), idx.shape)
        changed = flat[idx] != new
        if not changed.any():
            return 0
        idx, new = idx[changed], np.array(new[changed])
        old = flat[idx].copy()
        flat[idx] = new
        self.version += 1
        atom = (idx, old, new)
        if self._open is not None:
            self._open.append(atom)
        else:
            self._push([atom])
        return int(idx.size)

    def replace(self, labels: np.ndarray) -> int:
        """Replace the whole map as one undo step (accepting the model's mask, clearing)."""
        diff = np.flatnonzero(self.labels.reshape(-1) != labels.reshape(-1))
        return self.paint(diff, labels.reshape(-1)[diff])

    def reset(self, labels: np.ndarray) -> None:
        """Overwrite the whole map without an undo step (the model's draft, before any edit)."""
        self.labels[...] = labels
        self.version += 1

    def _apply(self, source: deque, target: deque, forward: bool) -> bool:
        if not source:
            return False
        step = source.pop()
        flat = self.labels.reshape(-1)
        for idx, old, new in reversed(step) if not forward else step:
            flat[idx] = new if forward else old
        target.append(step)
        self.version += 1
        return True

    def undo(self) -> bool:
        """Revert the last step; False when there is nothing to undo."""
        return self._apply(self._undo, self._redo, forward=False)

    def redo(self) -> bool:
        """Re-apply the last undone step; False when there is nothing to redo."""
        return self._apply(self._redo, self._undo, forward=True)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def nbytes(self) -> int:
        return self._bytes
