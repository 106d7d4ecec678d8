"""The procedural '<colour> <shape>' benchmark: reproducible, protocol-respecting, readable back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from core.data.layout import LayoutDataset
from core.data.shapes import ShapesConfig, make_sample, make_spec
from core.errors import DatasetError

SMALL = ShapesConfig(size=48, train=12, val=4, test=8, seed=3)


def test_every_unseen_word_occurs_in_a_seen_class() -> None:
    spec = make_spec(ShapesConfig(colours=6, shapes=7, unseen_count=9, seed=11))
    assert len(spec.unseen) == 9 and len(spec.classes) == 42
    seen_words = {w for name in spec.seen for w in name.split()}
    assert all(w in seen_words for name in spec.unseen for w in name.split())


def test_explicit_unseen_that_cannot_be_learned_is_refused() -> None:
    all_reds = tuple(f"red {s}" for s in ("circle", "square"))
    with pytest.raises(DatasetError, match="'red' appears in no seen class"):
        make_spec(ShapesConfig(colours=2, shapes=2, unseen=all_reds))


def test_reproducible_and_seed_dependent() -> None:
    spec = make_spec(SMALL)
    a = make_sample(SMALL, spec, "train", 5)
    b = make_sample(SMALL, spec, "train", 5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    other = ShapesConfig(size=48, train=12, val=4, test=8, seed=4)
    c = make_sample(other, make_spec(other), "train", 5)
    assert not np.array_equal(a[0], c[0])


def test_cli_writes_a_dataset_that_reads_back_identically(tmp_path: Path) -> None:
    out = tmp_path / "shapes"
    code = main(["data", "make-shapes", str(out), "--size", "48", "--train", "12", "--val", "4",
                 "--test", "8", "--seed", "3"])
    assert code == 0
    ds = LayoutDataset(out)
    spec = make_spec(SMALL)
    assert list(ds.classes[1:]) == spec.classes
    assert list(ds.unseen) == spec.unseen
    assert {s: len(ds.ids(s)) for s in ds.splits()} == {"test": 8, "train": 12, "val": 4}
    unseen_idx = ds.indices_of(ds.unseen)
    for split in ("train", "val", "test"):
        for i, sid in enumerate(ds.ids(split)):
            rgb, labels = make_sample(SMALL, spec, split, i)
            assert np.array_equal(ds.image(sid), rgb)
            assert np.array_equal(ds.label(sid), labels)
            has_unseen = np.isin(labels, unseen_idx).any()
            assert has_unseen == (split == "test"), (split, sid)
            assert (labels == 255).any(), "object borders carry an ignore band"


def test_info_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["data", "make-shapes", str(tmp_path), "--size", "32", "--train", "3", "--val", "1", "--test", "2"])
    capsys.readouterr()
    assert main(["data", "info", str(tmp_path), "--pixels"]) == 0
    out = capsys.readouterr().out
    assert "(unseen)" in out and "split    train: 3 images" in out and "ignore (255)" in out
