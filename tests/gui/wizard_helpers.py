"""Driving the training wizard, whose checks answer from a worker thread: wait for the answer, then look."""

from __future__ import annotations


def settle(qtbot, dialog, timeout: int = 60_000) -> None:
    """Turn the event loop until no check of Next / Start / the project's dataset is under way."""
    qtbot.waitUntil(lambda: not dialog.checking, timeout=timeout)


def start(qtbot, dialog, **kwargs) -> bool:
    """Press Start (``dialog.start(**kwargs)``) and wait for its checks; True when a trainer was launched."""
    before = dialog.process
    dialog.start(**kwargs)
    settle(qtbot, dialog)
    return dialog.process is not None and dialog.process is not before


def tiny(dialog):
    """The tiny random-init backbone instead of the wizard's default ImageNet one: seconds per step in tests."""
    dialog.backbone.setCurrentText("tiny")
    dialog.pretrained.setChecked(False)
    return dialog
