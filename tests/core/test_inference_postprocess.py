"""Labels at working resolution equal the former full-resolution formula; memory does not grow with classes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.inference.postprocess import Scores
from core.metrics.calibration import calibration_offsets


def _upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if maps.shape[0] == 0:
        return np.zeros((0, h, w), np.float32)
    out = [cv2.resize(np.ascontiguousarray(maps[i:i + 64].transpose(1, 2, 0)), (w, h), interpolation=cv2.INTER_LINEAR)
           for i in range(0, maps.shape[0], 64)]
    return np.concatenate([o.reshape(h, w, -1).transpose(2, 0, 1) for o in out]).astype(np.float32)


def old_labels(logits, background, size, threshold, offsets) -> np.ndarray:
    """The former runtime: every class upsampled to full resolution, activation, calibration, argmax."""
    up = _upsample(logits, size)
    if background is not None:
        scores = np.concatenate([_upsample(background, size), up])
        scores = np.exp(scores - scores.max(0, keepdims=True))
        probs = scores / scores.sum(0, keepdims=True)
    else:
        p = 1.0 / (1.0 + np.exp(-up))
        best = p.max(0, keepdims=True) if len(p) else np.zeros((1, *size), np.float32)
        probs = np.concatenate([(best < threshold).astype(np.float32), p])
    probs -= offsets[:, None, None]
    return probs.argmax(0).astype(np.uint8)


def _smooth_logits(rng, c: int, h: int, w: int) -> np.ndarray:
    """Class maps with regions (like a real scorer's), not pixel noise."""
    coarse = rng.normal(0, 3, (c, max(2, h // 6), max(2, w // 6))).astype(np.float32)
    return np.stack([cv2.resize(m, (w, h), interpolation=cv2.INTER_CUBIC) for m in coarse]) if c else \
        np.zeros((0, h, w), np.float32)


@pytest.mark.parametrize("softmax", [False, True])
@pytest.mark.parametrize("classes", [0, 1, 3, 20, 200])
@pytest.mark.parametrize("gamma", [0.0, 0.3])
def test_labels_equal_the_former_formula(softmax: bool, classes: int, gamma: float) -> None:
    rng = np.random.default_rng(classes + 7 * softmax)
    h, w = 23, 31
    logits = _smooth_logits(rng, classes, h, w)
    background = rng.normal(0, 2, (1, h, w)).astype(np.float32) if softmax else None
    names = [f"c{i}" for i in range(classes)]
    offsets = calibration_offsets(names, set(names[::2]), gamma, background_score=softmax)
    for size in ((97, 131), (23, 31), (40, 300), (11, 9)):
        scores = Scores(logits, background, size, threshold=0.5, offsets=offsets)
        expected = old_labels(logits, background, size, 0.5, offsets)
        got = scores.labels()
        assert got.shape == size
        assert (got == expected).all(), (size, (got != expected).sum())


def test_heatmap_region_and_uncertainty_match_full_maps() -> None:
    rng = np.random.default_rng(3)
    logits = _smooth_logits(rng, 4, 20, 30)
    for background in (None, rng.normal(0, 1, (1, 20, 30)).astype(np.float32)):
        scores = Scores(logits, background, (200, 300))
        up = _upsample(logits, (200, 300))
        if background is None:
            expected = 1 / (1 + np.exp(-up[2]))
        else:
            stack = np.concatenate([_upsample(background, (200, 300)), up])
            e = np.exp(stack - stack.max(0))
            expected = (e / e.sum(0))[3]
        full = scores.heatmap(2)
        assert np.abs(full - expected).max() < 1e-5
        assert np.array_equal(scores.heatmap(2, (50, 120, 10, 290)), full[50:120, 10:290])
        assert np.array_equal(scores.uncertainty((5, 60, 0, 300)), scores.uncertainty()[5:60])
        labels = scores.labels()
        assert (labels > 0).mean() > 0.1
        assert np.allclose(scores.label_score(labels)[labels > 0], scores.max_class_score()[labels > 0], atol=1e-6)


def test_many_classes_on_a_large_image_stay_within_bounded_memory() -> None:
    import tracemalloc

    rng = np.random.default_rng(4)
    logits = _smooth_logits(rng, 254, 24, 32)
    scores = Scores(logits, None, (1500, 2000))
    tracemalloc.start()
    labels = scores.labels()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert labels.shape == (1500, 2000) and labels.max() > 1
    # the label map itself is 3 MB; 254 full-resolution float maps would be 3 GB
    assert peak < 150e6, peak


@pytest.mark.parametrize("classes", [1, 2, 20])
@pytest.mark.parametrize("softmax", [False, True])
def test_noise_like_scores_take_the_dense_paths_and_still_agree(classes: int, softmax: bool) -> None:
    rng = np.random.default_rng(classes)
    logits = rng.normal(0, 0.3, (classes, 18, 32)).astype(np.float32)
    background = rng.normal(0, 0.3, (1, 18, 32)).astype(np.float32) if softmax else None
    offsets = np.zeros(classes + 1, np.float32)
    scores = Scores(logits, background, (108, 192))
    assert (scores.labels() == old_labels(logits, background, (108, 192), 0.5, offsets)).all()
