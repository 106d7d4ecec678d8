"""The window is a view of the open image's ImageDocument: its events arrive as Qt signals, a save counts only once
the disk worker confirms it, and a prediction that arrives after an edit leaves the edit alone."""

from __future__ import annotations

import numpy as np


def test_the_window_follows_its_document(qtbot, make_window, photos):
    window = make_window()
    assert window.open_path(photos)
    qtbot.waitUntil(lambda: window.document is not None, timeout=10_000)
    for name in ("a", "b"):
        window.add_class(name)
    qtbot.waitUntil(lambda: window.result is not None, timeout=30_000)  # the model's draft was shown
    document = window.document
    assert window.history is document.history and window.draft == document.draft

    with qtbot.waitSignal(window.document_signals.labels_changed) as changed:
        with window.history.stroke():
            window.history.paint(np.arange(50), 1)
        window._edited()  # the canvas says a stroke ended
    assert changed.args == [document.version] and window.dirty and not document.draft
    painted = document.labels.copy()
    window._update_draft()  # the prediction of the image (again): the labeler's edit stays
    assert np.array_equal(document.labels, painted)

    with qtbot.waitSignal(window.document_signals.saved, timeout=10_000) as saved:
        window.save()
        assert window.dirty  # asked for; the disk has not confirmed yet
    assert saved.args == [document.version] and not window.dirty
