"""Shared test set-up: every test gets its own home and zerolabel folders (nothing of the user's is read or
written), offline model hubs.

Redirected per test: ``HOME``, ``XDG_DATA_HOME``, ``XDG_CONFIG_HOME``, ``ZEROLABEL_HOME`` (the embedding store) and
``ZEROLABEL_DATA`` (projects of read-only folders; both default to ``~/.local/share/zerolabel``, so here they
share one folder too) and ``ZEROLABEL_SETTINGS`` (the app's settings file). ``XDG_CACHE_HOME`` keeps pointing
at the real cache: it holds read-only downloads (torch hub weights, font caches) that tests may not fetch.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

#: The real cache, fixed before any test moves HOME (weights and font caches are read from it, never written).
CACHE = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh home, data, config and settings folders for each test, so no test touches the user's own."""
    root = tmp_path_factory.mktemp("zerolabel-home")
    data = root / "data" / "zerolabel"
    monkeypatch.setenv("HOME", str(root / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", CACHE)
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    monkeypatch.setenv("ZEROLABEL_HOME", str(data))
    monkeypatch.setenv("ZEROLABEL_DATA", str(data))
    monkeypatch.setenv("ZEROLABEL_SETTINGS", str(root / "config" / "zerolabel.ini"))


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
