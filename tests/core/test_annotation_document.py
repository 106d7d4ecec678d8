"""The per-image annotation document, Qt-free: a draft becomes the labeler's labels on the first edit, a late draft
never overwrites edits, and the labels count as saved only when the disk confirms that very version."""

from __future__ import annotations

import numpy as np

from core.annotation.document import ImageDocument


def _draft(value: int) -> np.ndarray:
    labels = np.zeros((4, 5), np.uint8)
    labels[1:3, 1:4] = value
    return labels


def test_draft_then_edit_then_undo():
    doc = ImageDocument("img", None, (4, 5))
    seen = []
    doc.events.labels.connect(seen.append)
    assert doc.draft and not doc.dirty and not doc.labels.any()
    assert doc.set_draft(_draft(2)) and doc.draft and not doc.dirty  # a draft has nothing to save
    assert not doc.history.can_undo  # the model's draft is not an undo step
    painted = _draft(2)
    painted[0, 0] = 3
    doc.edit(painted)
    assert not doc.draft and doc.dirty and doc.labels[0, 0] == 3
    assert doc.undo() and np.array_equal(doc.labels, _draft(2))
    assert not doc.draft and doc.dirty  # back to the draft's pixels, but they are the labeler's now, never saved
    assert doc.redo() and doc.labels[0, 0] == 3 and doc.undo()
    assert seen == sorted(seen) and len(seen) == 5  # draft, edit, undo, redo, undo: each told with its version


def test_edits_are_kept_when_a_late_draft_arrives():
    doc = ImageDocument("img", None, (4, 5))
    doc.set_draft(_draft(1))
    doc.history.paint(np.array([0, 1]), 4)  # a brush stroke (the canvas paints the history) ...
    doc.edited()  # ... and says so when it ends
    edited = doc.labels.copy()
    assert not doc.set_draft(_draft(2))  # the prediction for the old request arrives late
    assert np.array_equal(doc.labels, edited) and doc.dirty


def test_saved_only_after_the_disk_confirms():
    doc = ImageDocument("img", None, (4, 5))
    doc.edit(_draft(1))
    labels, ticket = doc.save_request()
    assert np.array_equal(labels, _draft(1)) and labels is not doc.labels
    assert doc.dirty  # asked for, not confirmed
    doc.edit(_draft(2))  # edited again while the save was on its way
    doc.saved(ticket)
    assert doc.dirty and doc.saved_version == ticket[1]  # the disk holds the older version
    labels, ticket = doc.save_request()
    failed = []
    doc.events.save_failed.connect(failed.append)
    doc.save_failed("save", ticket)  # a full disk: still dirty
    assert doc.dirty and failed == ["save"]
    doc.saved(ticket)
    assert not doc.dirty


def test_an_untouched_draft_is_never_saved_but_an_accepted_one_is():
    doc = ImageDocument("img", None, (4, 5))
    doc.set_draft(_draft(1))
    assert not doc.dirty and doc.autosave_request() is None
    labels, ticket = doc.save_request()  # the labeler saves the draft (accepts it)
    assert not doc.draft and np.array_equal(labels, _draft(1))
    doc.saved(ticket)
    assert not doc.dirty and not doc.set_draft(_draft(2))


def test_autosave_only_what_changed_and_again_after_a_failure():
    doc = ImageDocument("img", _draft(1), (4, 5))
    assert not doc.draft and not doc.dirty and doc.autosave_request() is None
    doc.edit(_draft(2))
    first = doc.autosave_request()
    assert first is not None and doc.autosave_request() is None  # nothing new since
    doc.save_failed("autosave", first[1])
    assert doc.autosave_request() is not None  # tried again on the next tick


def test_recovered_edits_are_dirty_and_a_renumbering_keeps_them_so():
    doc = ImageDocument("img", _draft(2), (4, 5), from_autosave=True)
    assert doc.dirty
    old = doc.history
    _, ticket = doc.save_request()
    doc.renumber(np.array([0, 2, 1, 3] + [0] * 252, np.uint8))
    assert doc.labels.max() == 1 and doc.dirty and doc.history is not old
    doc.saved(ticket)  # a save of the old numbering does not count for the renumbered map
    assert doc.dirty
    clean = ImageDocument("img", _draft(2), (4, 5))
    clean.renumber(np.arange(256, dtype=np.uint8))
    assert not clean.dirty

