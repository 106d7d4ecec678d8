"""tests/conftest.py's isolation is real: every folder zerolabel reads or writes for a user resolves under tmp."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def test_each_test_has_its_own_home_store_projects_and_settings(tmp_path_factory):
    from core.annotation.project import default_data_dir
    from core.embeddings.store import default_store_dir

    tmp = tmp_path_factory.getbasetemp()
    for path in (Path.home(), Path(os.path.expanduser("~")), default_store_dir(), default_data_dir(),
                 Path(os.environ["ZEROLABEL_SETTINGS"]), Path(os.environ["XDG_CONFIG_HOME"])):
        assert tmp in Path(path).parents, path
    assert tmp not in Path(os.environ["XDG_CACHE_HOME"]).parents  # read-only downloads stay shared


@pytest.mark.parametrize("run", [1, 2])  # the second run would find the first one's file if folders were shared
def test_what_one_test_writes_is_not_seen_by_the_next(run):
    from core.embeddings.store import default_store_dir

    marker = default_store_dir() / "left-by-a-test"
    assert not marker.exists()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("x")
