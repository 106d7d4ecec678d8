"""What the app relies on: encode-ahead with a bounded cache, class edits that score only the new class, and
heatmaps / uncertainty on demand for a class and a region."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.inference.runtime import Predictor, demo_model_folder

NAMES = ["red circle", "blue square", "green triangle"]


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (60, 80, 3), np.uint8)


def test_prefetch_encodes_ahead_in_another_thread_within_a_bounded_cache() -> None:
    predictor = Predictor(demo_model_folder(), device="cpu", cache_size=2)
    worker = threading.Thread(target=lambda: [predictor.prefetch(f"im{i}", lambda i=i: _image(i)) for i in (1, 2)])
    worker.start()
    worker.join()
    assert predictor.is_cached("im1") and predictor.is_cached("im2") and predictor.encoder_runs == 2
    predictor.predict(_image(2), NAMES, key="im2")  # switching to a prefetched image runs only the scorer
    assert predictor.encoder_runs == 2
    assert predictor.prefetch("im3", lambda: _image(3)) and not predictor.prefetch("im3", lambda: _image(3))
    assert not predictor.is_cached("im1")  # the least recently used one made room


def test_a_class_edit_scores_only_the_new_class_and_gives_the_same_labels() -> None:
    predictor = Predictor(demo_model_folder(), device="cpu")
    image = _image(4)
    predictor.predict(image, NAMES[:2], key="a")
    edited = predictor.predict(image, NAMES, key="a")
    cached = next(iter(predictor._logits.values()))
    assert set(cached) - {"\0background"} == set(NAMES) and predictor.encoder_runs == 1  # + softmax background
    fresh = Predictor(demo_model_folder(), device="cpu").predict(image, NAMES)
    assert np.array_equal(edited.labels, fresh.labels)
    assert np.abs(edited.heatmap("green triangle") - fresh.heatmap(2)).max() < 1e-5


def test_heatmap_and_uncertainty_of_a_region_are_crops_of_the_whole() -> None:
    pred = Predictor(demo_model_folder(), device="cpu").predict(_image(5), NAMES, calibration=0.1)
    whole = pred.heatmap("blue square")
    assert whole.shape == (60, 80) and whole.min() >= 0 and whole.max() <= 1
    assert np.array_equal(pred.heatmap(1, (10, 30, 20, 70)), whole[10:30, 20:70])
    assert np.array_equal(pred.uncertainty_map((0, 60, 5, 15)), pred.uncertainty_map()[:, 5:15])
    stack = pred.heatmaps  # lazy: one class per index, the best class score by max(0)
    assert np.array_equal(stack[1], whole) and stack.shape == (3, 60, 80)
    assert np.array_equal(stack.max(0), np.asarray(stack).max(0))


def test_any_class_count_the_label_format_allows() -> None:
    from core.errors import ZerolabelError

    predictor = Predictor(demo_model_folder(), device="cpu")
    names = [f"{c} {s}" for c in ("red", "blue", "green", "yellow", "purple", "orange", "pink", "brown", "grey",
                                  "black", "white", "cyan", "gold", "silver", "violet") for s in
             ("circle", "square", "triangle", "star", "heart", "cross", "ring", "moon", "diamond", "arrow",
              "oval", "hexagon", "pentagon", "octagon", "spiral", "cube", "cone", "sphere")][:254]
    pred = predictor.predict(_image(6), names)
    assert pred.labels.shape == (60, 80) and pred.heatmap(253).shape == (60, 80)
    with pytest.raises(ZerolabelError, match="8-bit label map"):
        predictor.predict(_image(6), [*names, "extra circle"])


def test_label_score_thresholds_like_the_best_class_score() -> None:
    from core.inference.runtime import sample_images_folder
    from core.io.image import read_image

    predictor = Predictor(demo_model_folder(), device="cpu")
    image = read_image(sorted((sample_images_folder() / "JPEGImages").iterdir())[1])
    names = ["blue circle", "yellow heart", "purple star"]
    for calibration in (0.0, 0.2):
        pred = predictor.predict(image, names, calibration=calibration)
        labelled = pred.labels > 0
        assert labelled.any()
        assert np.allclose(pred.label_score()[labelled], pred.max_class_score()[labelled], atol=1e-6)
        assert (pred.label_score()[~labelled] == 0).all()
        means = pred.mean_scores()
        for c in range(1, 4):
            if (pred.labels == c).any():
                assert abs(means[c - 1] - pred.heatmap(c - 1)[pred.labels == c].mean()) < 1e-5
