"""Shared test set-up: isolated zerolabel home per test session, offline model hubs."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point ZEROLABEL_HOME at a fresh folder so no test touches the user's store or settings."""
    monkeypatch.setenv("ZEROLABEL_HOME", str(tmp_path_factory.mktemp("zerolabel-home")))


@pytest.fixture(scope="module")
def one_thread():
    """Small tensors: one intra-op torch thread is faster, and immune to a busy machine (no OpenMP spinning).

    Use with ``pytestmark = pytest.mark.usefixtures("one_thread")`` in a module.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
