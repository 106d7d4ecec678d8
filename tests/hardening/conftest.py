"""Hardening tests: a corpus of bad inputs, kill -9 crash tests, no pickles from user files.

Shared here: a tiny shapes dataset, a tiny checkpoint, a copy of the embedded demo model, and ``cli`` (runs
``cli.main.main`` in-process and checks the user-facing contract: no traceback, exit status, one error line).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.data.shapes import ShapesConfig, write_shapes


@pytest.fixture(scope="session")
def tiny_shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny set tests/gui/test_training.py trains on (24 train images of 64 px, 3 x 3 classes)."""
    root = tmp_path_factory.mktemp("shapes")
    write_shapes(root, ShapesConfig(size=64, train=24, val=6, test=6, colours=3, shapes=3, unseen_count=2))
    return root


@pytest.fixture(scope="session")
def demo_model_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pristine copy of the embedded demo model (tests damage their own copies of it)."""
    from core.inference.runtime import demo_model_folder

    target = tmp_path_factory.mktemp("demo") / "model"
    shutil.copytree(demo_model_folder(), target)
    return target


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.startswith("zerolabel: error:")]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture):
    """Run ``zerolabel ARGS`` in-process; fail on a Python traceback or an escaped exception."""
    from cli.main import main

    def run(argv: list[str]) -> CliResult:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors: exit 2 with a usage line
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        result = CliResult(code, captured.out, captured.err)
        assert "Traceback" not in result.err + result.out, result.err
        return result

    return run
