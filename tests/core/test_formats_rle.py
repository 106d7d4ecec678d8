"""COCO RLE: both forms, checked against strings pycocotools wrote for the same masks."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetError
from core.formats.rle import counts_to_string, rle_decode, rle_encode, string_to_counts


def _square_with_hole() -> np.ndarray:
    m = np.zeros((40, 50), np.uint8)
    m[3:30, 7:44] = 1
    m[10:20, 15:25] = 0
    return m.astype(bool)


def test_matches_pycocotools_strings():
    m = np.zeros((6, 5), bool)
    m[1:4, 1:3] = True
    m[5, 4] = True
    assert rle_encode(m, compressed=True) == {"size": [6, 5], "counts": "7330:N"}
    expected = ("k8k0=00000000000000\\OM33MM33MM33MM33MM33MM33MM33MM33MM33MM33a00000000000000000000000000000"
                "00000000]7")
    assert rle_encode(_square_with_hole(), compressed=True)["counts"] == expected
    assert (rle_decode({"size": [40, 50], "counts": expected.encode()}) == _square_with_hole()).all()


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_both_forms(seed):
    rng = np.random.default_rng(seed)
    m = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))) < rng.random()
    for compressed in (False, True):
        assert (rle_decode(rle_encode(m, compressed)) == m).all()
    counts = rle_encode(m)["counts"]
    assert string_to_counts(counts_to_string(counts)) == counts


def test_first_pixel_set_starts_with_empty_run():
    m = np.ones((2, 2), bool)
    assert rle_encode(m)["counts"] == [0, 4]


def test_corrupt_rle_names_the_source():
    with pytest.raises(DatasetError, match="ann.json.*add up to 3 pixels, not 2x2"):
        rle_decode({"size": [2, 2], "counts": [1, 2]}, "ann.json")
    with pytest.raises(DatasetError, match="ann.json.*not a COCO RLE"):
        rle_decode({"counts": [4]}, "ann.json")


@pytest.mark.parametrize("seed", range(6))
def test_region_runs_equal_full_image_runs(seed):
    from core.formats.rle import region_runs, runs

    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(3, 30)), int(rng.integers(3, 30))
    top, left = int(rng.integers(0, h)), int(rng.integers(0, w))
    ch, cw = int(rng.integers(1, h - top + 1)), int(rng.integers(1, w - left + 1))
    crop = rng.random((ch, cw)) < 0.5
    crop[0, 0] = True
    full = np.zeros((h, w), bool)
    full[top:top + ch, left:left + cw] = crop
    assert region_runs(crop, top, left, h, w) == runs(full)
