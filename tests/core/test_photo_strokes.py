"""Teaching a class by strokes: fit on one image's features, apply to another, keep it in a file."""

from __future__ import annotations

import numpy as np
import pytest

from core.photo.strokes import StrokeError, StrokeHead, effnet_features

pytestmark = pytest.mark.usefixtures("one_thread")


def _scene(top: tuple[int, int, int], seed: int, split: int, size=(96, 128)) -> tuple[np.ndarray, np.ndarray]:
    """A 'sky over grass' photo-like image: a smooth gradient above ``split`` rows, green noise below."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = np.zeros((h, w, 3), np.float32)
    ramp = np.linspace(0.8, 1.1, split)[:, None, None]
    img[:split] = np.array(top, np.float32) * ramp
    img[split:] = np.array([40, 120, 30], np.float32) + rng.normal(0, 35, (h - split, w, 3))
    truth = np.zeros((h, w), np.uint8)
    truth[:split] = 1
    return np.clip(img, 0, 255).astype(np.uint8), truth


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(((pred == 1) & (truth == 1)).sum() / ((pred == 1) | (truth == 1)).sum())


def _line(shape, row: int) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[row : row + 3, shape[1] // 8 : shape[1] - shape[1] // 8] = True
    return mask


def test_strokes_on_one_image_label_another_image():
    img_a, truth_a = _scene((110, 160, 230), 0, 40)
    img_b, truth_b = _scene((90, 140, 220), 1, 60)  # another sky, horizon elsewhere
    feats_a = effnet_features(img_a, long_side=128)
    head = StrokeHead("effnet-lite0").add(feats_a, {"sky": _line(truth_a.shape, 15)},
                                          negatives=_line(truth_a.shape, 75)).fit()
    pred = head.predict(effnet_features(img_b, long_side=128), img_b.shape[:2])
    assert pred.shape == img_b.shape[:2]
    assert head.classes == ["sky"]
    assert _iou(pred, truth_b) > 0.8


def test_more_strokes_add_samples_and_the_file_keeps_them(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(8, 12, 16)).astype(np.float32)
    feats[0, :6] += 4.0  # the top half differs in channel 0
    shape = (48, 64)
    head = StrokeHead("test").add(feats, {"sky": _line(shape, 5)}, negatives=_line(shape, 40))
    first = len(head.samples["sky"])
    head.add(feats, {"sky": _line(shape, 15)}).fit()
    assert len(head.samples["sky"]) > first
    head.save(tmp_path / "strokes.npz")
    again = StrokeHead.load(tmp_path / "strokes.npz")
    assert again.extractor == "test" and again.classes == ["sky"]
    np.testing.assert_array_equal(again.predict(feats, shape), head.predict(feats, shape))
    assert (head.predict(feats, shape)[:20] == 1).mean() > 0.9
    assert (head.predict(feats, shape)[28:] == 0).mean() > 0.9


def test_clear_errors():
    feats = np.zeros((4, 6, 6), np.float32)
    shape = (12, 12)
    with pytest.raises(StrokeError, match="what is not 'sky'"):
        StrokeHead("test").add(feats, {"sky": _line(shape, 2)}).fit()
    with pytest.raises(StrokeError, match="no strokes"):
        StrokeHead("test").fit()
    head = StrokeHead("test").add(feats, {"sky": _line(shape, 2)}, negatives=_line(shape, 8)).fit()
    with pytest.raises(StrokeError, match="4"):
        head.probabilities(np.zeros((5, 6, 6), np.float32))
    with pytest.raises(StrokeError, match="same model"):
        head.add(np.zeros((5, 6, 6), np.float32), {"sky": _line(shape, 2)})


def test_damaged_file_is_a_clear_error(tmp_path):
    path = tmp_path / "strokes.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(StrokeError, match="strokes.npz"):
        StrokeHead.load(path)
