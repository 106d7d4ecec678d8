"""The CLI demo (what `make run` runs without a display) runs end to end, transfers to unseen classes and labels the
sample photographs with the photo model."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from core.metrics.report import read_json


def test_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--out", str(tmp_path), "--train", "60", "--test", "30"]) == 0
    out = capsys.readouterr().out
    assert "identical to the generator: True" in out
    zlss = read_json(tmp_path / "metrics_zlss.json")
    gzlss = read_json(tmp_path / "metrics_gzlss.json")
    assert zlss["setting"] == "zlss" and gzlss["setting"] == "gzlss"
    # The embedding -> colour map fitted on seen classes must find the unseen colours: far above chance (1/6).
    assert zlss["unseen"]["mIoU"] > 0.4
    assert set(zlss["per_class"]) == {line.strip() for line in (tmp_path / "shapes" / "unseen.txt").open()}
    # 7: the photo model on the sample photographs: the cat photo is mostly cat, the flower photo has no cat
    cat_line = next(line for line in out.splitlines() if line.strip().startswith("chelsea.jpg"))
    assert int(cat_line.split("cat ")[1].split("%")[0]) > 50
    flower_line = next(line for line in out.splitlines() if line.strip().startswith("flower.jpg"))
    assert "flower" in flower_line.split("->")[1] and "cat" not in flower_line
    assert len(list((tmp_path / "photos").glob("*.png"))) == 6


def test_demo_reports_a_bad_provider(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--out", str(tmp_path), "--train", "10", "--test", "5", "--provider", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
