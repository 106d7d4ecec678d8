"""A tiny shapes dataset shared by the training tests (written once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.shapes import ShapesConfig, write_shapes


@pytest.fixture(scope="session")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    write_shapes(root, ShapesConfig(size=64, train=48, val=12, test=12, colours=3, shapes=3, unseen_count=2))
    return root
