"""Metrics against hand-computed confusion matrices (every expected number is worked out in the comments)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.metrics import (
    ConfusionMatrix,
    Evaluator,
    MetricsError,
    SizeStats,
    calibrate,
    check_contract,
    evaluate,
    format_table,
    harmonic_mean,
    per_class_iou,
    read_json,
    restrict_scores,
    subset_metrics,
    to_json,
    write_json,
    zlss_target,
)

NAMES = ["background", "cat", "dog", "cow"]

# A 4-class case. Rows = ground truth, columns = prediction; the 255 pixel is skipped.
TARGET = np.array(
    [
        [0, 0, 1, 1],
        [0, 2, 2, 1],
        [3, 3, 2, 255],
    ],
    dtype=np.uint8,
)
PRED = np.array(
    [
        [0, 1, 1, 1],
        [0, 2, 1, 1],
        [3, 0, 2, 2],
    ],
    dtype=np.uint8,
)
MATRIX = np.array(
    [
        [2, 1, 0, 0],  # background: 3 GT pixels, 2 right, 1 called cat
        [0, 3, 0, 0],  # cat: 3 GT pixels, all right
        [0, 1, 2, 0],  # dog: 3 GT pixels, 2 right, 1 called cat
        [1, 0, 0, 1],  # cow: 2 GT pixels, 1 right, 1 called background
    ]
)
# Column sums (predicted pixels) = [3, 5, 2, 1]; IoU = tp / (gt + pred - tp):
IOU = [2 / 4, 3 / 5, 2 / 3, 1 / 2]
ACC = [2 / 3, 1.0, 2 / 3, 1 / 2]


def _evaluator(**kwargs) -> Evaluator:
    return Evaluator(NAMES, unseen=["dog", "cow"], **kwargs)


# --- confusion matrix -----------------------------------------------------------------------------


def test_confusion_matrix_matches_hand_count() -> None:
    cm = ConfusionMatrix(4)
    cm.update(PRED, TARGET)
    assert cm.matrix.dtype == np.int64
    assert cm.matrix.tolist() == MATRIX.tolist()
    assert cm.total == 11


def test_per_class_iou_and_overall_metrics_exact() -> None:
    assert per_class_iou(MATRIX) == pytest.approx(IOU)
    overall = subset_metrics(MATRIX, range(4))
    # PA = 8/11; MA = (2/3 + 1 + 2/3 + 1/2) / 4 = 17/24; mIoU = (1/2 + 3/5 + 2/3 + 1/2) / 4 = 17/30
    assert overall.as_dict() == pytest.approx({"PA": 8 / 11, "MA": 17 / 24, "mIoU": 17 / 30})
    assert overall.num_present == 4


def test_seen_unseen_subsets_and_hiou() -> None:
    m = _evaluator()
    m.add(PRED, TARGET)
    r = m.result()
    # seen = {background, cat}: PA = (2+3)/(3+3); MA = (2/3 + 1)/2; mIoU = (1/2 + 3/5)/2
    assert r["seen"] == pytest.approx({"PA": 5 / 6, "MA": 5 / 6, "mIoU": 0.55})
    # unseen = {dog, cow}: PA = (2+1)/(3+2); MA = (2/3 + 1/2)/2; mIoU = (2/3 + 1/2)/2
    assert r["unseen"] == pytest.approx({"PA": 3 / 5, "MA": 7 / 12, "mIoU": 7 / 12})
    assert r["overall"] == pytest.approx({"PA": 8 / 11, "MA": 17 / 24, "mIoU": 17 / 30})
    # hIoU = 2 * 11/20 * 7/12 / (11/20 + 7/12) = 77/136
    assert r["hIoU"] == pytest.approx(77 / 136)
    assert r["per_class"] == pytest.approx(dict(zip(NAMES, IOU, strict=True)))
    assert list(r["per_class"]) == NAMES
    assert r["setting"] == "gzlss" and r["num_images"] == 1 and r["num_pixels"] == 11


def test_background_not_seen_moves_it_out_of_seen_only() -> None:
    m = _evaluator(background_seen=False)
    m.add(PRED, TARGET)
    r = m.result()
    assert r["seen"] == pytest.approx({"PA": 1.0, "MA": 1.0, "mIoU": 0.6})  # cat alone
    assert r["overall"]["mIoU"] == pytest.approx(17 / 30)  # background still counted overall
    assert r["hIoU"] == pytest.approx(2 * 0.6 * (7 / 12) / (0.6 + 7 / 12))


def test_harmonic_mean_values() -> None:
    assert harmonic_mean(0.6, 0.3) == pytest.approx(0.4)
    assert harmonic_mean(1.0, 1.0) == 1.0
    assert harmonic_mean(0.5, 0.0) == 0.0
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(None, 0.5) is None


def test_class_absent_from_gt_and_pred_is_left_out() -> None:
    names = [*NAMES, "horse"]  # horse: index 4, never in the ground truth nor predicted
    m = Evaluator(names, unseen=["dog", "cow", "horse"])
    m.add(PRED, TARGET)
    r = m.result()
    assert r["unseen"]["mIoU"] == pytest.approx(7 / 12)  # not (2/3 + 1/2 + 0) / 3
    assert r["overall"]["MA"] == pytest.approx(17 / 24)
    assert "horse" not in r["per_class"]
    assert r["absent_predicted"] == {}


def test_class_predicted_but_absent_from_gt() -> None:
    # horse (4) predicted on one background pixel; it has no ground truth anywhere.
    target = np.array([[0, 0], [1, 1]], dtype=np.uint8)
    pred = np.array([[0, 4], [1, 1]], dtype=np.uint8)
    m = Evaluator([*NAMES, "horse"], unseen=["horse"])
    m.add(pred, target)
    r = m.result()
    # background IoU = 1 / (2 + 1 - 1) = 0.5, cat IoU = 1; horse is undefined, not 0:
    assert r["per_class"] == pytest.approx({"background": 0.5, "cat": 1.0})
    assert r["overall"]["mIoU"] == pytest.approx(0.75)  # would be 0.5 if horse counted as 0
    assert r["unseen"] == {"PA": None, "MA": None, "mIoU": None}
    assert r["hIoU"] is None
    assert r["absent_predicted"] == pytest.approx({"horse": 0.25})  # 1 of 4 evaluated pixels
    assert np.isnan(per_class_iou(m.confusion.matrix)[4])


def test_all_ignore_image_contributes_nothing() -> None:
    m = _evaluator()
    m.add(PRED, TARGET)
    before = m.result()
    m.add(np.full((5, 7), 3, np.uint8), np.full((5, 7), 255, np.uint8))
    after = m.result()
    assert after["num_images"] == 2
    for key in ("seen", "unseen", "overall", "hIoU", "per_class", "num_pixels"):
        assert after[key] == before[key]


def test_all_ignore_only_evaluation_gives_none_not_nan() -> None:
    m = _evaluator()
    m.add(np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8))
    r = m.result()
    for subset in ("seen", "unseen", "overall"):
        assert r[subset] == {"PA": None, "MA": None, "mIoU": None}
    assert r["hIoU"] is None and r["per_class"] == {} and r["num_pixels"] == 0
    assert r["absent_predicted"] == {}  # nothing evaluated, so nothing was predicted on evaluated pixels
    check_contract(r)
    text = to_json(r)
    assert "NaN" not in text
    assert json.loads(text)["overall"]["mIoU"] is None
    assert "n/a" in format_table(r)


def test_merge_equals_single_pass_and_batches_equal_singles() -> None:
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 4, size=(3, 16, 16)).astype(np.uint8)
    targets[0, :2] = 255
    preds = rng.integers(0, 4, size=(3, 16, 16)).astype(np.uint8)
    whole, shard_a, shard_b = _evaluator(), _evaluator(), _evaluator()
    whole.add(preds, targets)  # one [B, H, W] batch
    shard_a.add(preds[0], targets[0])
    for p, t in zip(preds[1:], targets[1:], strict=True):
        shard_b.add(p, t)
    shard_a.merge(shard_b)
    assert np.array_equal(shard_a.confusion.matrix, whole.confusion.matrix)
    assert shard_a.result() == whole.result()
    assert whole.num_images == 3


def test_large_uint8_image_matches_reference_count() -> None:
    # Larger than one internal chunk (1 << 22 pixels), so chunked accumulation is exercised.
    rng = np.random.default_rng(1)
    target = rng.integers(0, 3, size=(2100, 2100)).astype(np.uint8)
    target[rng.random(target.shape) < 0.1] = 255
    pred = rng.integers(0, 3, size=target.shape).astype(np.uint8)
    cm = ConfusionMatrix(3)
    cm.update(pred, target)
    expected = [[int(np.sum((target == i) & (pred == j))) for j in range(3)] for i in range(3)]
    assert cm.matrix.tolist() == expected


@pytest.mark.parametrize(
    ("pred", "target", "message"),
    [
        (np.array([[0, 4]]), np.array([[0, 1]]), "prediction holds class index 4"),
        (np.array([[0, -1]]), np.array([[0, 1]]), "prediction holds class index -1"),
        (np.array([[0, 255]], np.uint8), np.array([[0, 255]], np.uint8), "prediction holds class index 255"),
        (np.array([[0, 1]]), np.array([[0, 30]]), "ground truth holds class index 30"),
        (np.array([[0.0, 1.0]]), np.array([[0, 1]]), "integer label map"),
        (np.array([[0, 1, 1]]), np.array([[0, 1]]), "differs from target shape"),
    ],
)
def test_bad_inputs_raise(pred: np.ndarray, target: np.ndarray, message: str) -> None:
    with pytest.raises(MetricsError, match=message):
        ConfusionMatrix(4).update(pred, target)


def test_bad_class_lists_raise() -> None:
    with pytest.raises(MetricsError, match="horse"):
        Evaluator(NAMES, unseen=["horse"])
    with pytest.raises(MetricsError, match="cannot be unseen"):
        Evaluator(NAMES, unseen=["background"])
    with pytest.raises(MetricsError, match="repeated"):
        Evaluator(["background", "cat", "cat"])
    with pytest.raises(MetricsError, match="at least one unseen"):
        Evaluator(NAMES, setting="zlss")
    with pytest.raises(MetricsError, match="unknown setting"):
        Evaluator(NAMES, unseen=["dog"], setting="zsl")


# --- ZLSS / calibration ---------------------------------------------------------------------------

ZLSS_TARGET = np.array([[0, 1, 1, 2], [0, 2, 3, 3]], dtype=np.uint8)
# The prediction we want once seen classes (except background) are removed from the argmax:
ZLSS_PRED = np.array([[0, 2, 0, 2], [2, 2, 3, 0]])


def _zlss_scores() -> np.ndarray:
    scores = np.zeros((4, 2, 4), dtype=np.float32)
    scores[1] = 5.0  # the seen class cat dominates every pixel
    rows, cols = np.indices(ZLSS_PRED.shape)
    scores[ZLSS_PRED, rows, cols] = 1.0  # runner-up among the allowed classes
    return scores


def test_restrict_scores_never_picks_a_blocked_class() -> None:
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(2, 4, 8, 8))
    scores[:, 1] += 100.0  # cat would win everywhere
    restricted = restrict_scores(scores, [0, 2, 3])
    assert np.isin(restricted.argmax(axis=1), [0, 2, 3]).all()
    assert np.isneginf(restricted[:, 1]).all()
    assert (scores.argmax(axis=1) == 1).all()  # input untouched
    with pytest.raises(MetricsError):
        restrict_scores(scores, [])


def test_zlss_target_ignores_seen_pixels() -> None:
    out = zlss_target(ZLSS_TARGET, [0, 1])
    assert out.tolist() == [[255, 255, 255, 2], [255, 2, 3, 3]]
    assert out.dtype == ZLSS_TARGET.dtype and ZLSS_TARGET[0, 0] == 0


def test_zlss_evaluation_restricts_and_ignores_seen_gt() -> None:
    m = _evaluator(setting="zlss")
    m.add_scores(_zlss_scores(), ZLSS_TARGET)
    r = m.result()
    assert m.confusion.pred_counts()[1] == 0  # cat (seen) is never predicted
    # Valid pixels: dog->dog, dog->dog, cow->cow, cow->background. IoU dog = 2/2, cow = 1/(2+1-1).
    assert r["unseen"] == pytest.approx({"PA": 3 / 4, "MA": 0.75, "mIoU": 0.75})
    assert r["overall"] == r["unseen"]  # background ground truth is ignored (background counts as seen)
    assert r["seen"] == {"PA": None, "MA": None, "mIoU": None}
    assert r["hIoU"] is None
    assert r["per_class"] == pytest.approx({"dog": 1.0, "cow": 0.5})
    assert r["absent_predicted"] == pytest.approx({"background": 0.25})
    assert r["setting"] == "zlss"
    # The same scores under GZLSS: cat everywhere, so every unseen pixel is lost.
    g = _evaluator(setting="gzlss")
    g.add_scores(_zlss_scores(), ZLSS_TARGET)
    assert g.result()["unseen"]["mIoU"] == 0.0


def test_zlss_rejects_label_maps_with_seen_classes() -> None:
    m = _evaluator(setting="zlss")
    with pytest.raises(MetricsError, match="cat"):
        m.add(np.array([[1, 2]]), np.array([[2, 2]]))
    m.add(np.array([[0, 2]]), np.array([[2, 2]]))  # background and unseen are fine
    assert m.result()["per_class"] == {"dog": pytest.approx(0.5)}


def test_calibration_changes_argmax_as_expected() -> None:
    # classes: background (seen), cat (seen), dog (unseen); three pixels in a row
    scores = np.array([[[0.1, 0.1, 0.2]], [[0.6, 0.9, 0.1]], [[0.5, 0.5, 0.15]]])
    assert scores.argmax(axis=0).tolist() == [[1, 1, 0]]
    calibrated = calibrate(scores, [0, 1], 0.2)
    # pixel 0: cat 0.4 < dog 0.5 -> dog; pixel 1: cat 0.7 still wins;
    # pixel 2: background 0.0 < dog 0.15 -> dog
    assert calibrated.argmax(axis=0).tolist() == [[2, 1, 2]]
    assert calibrated[2].tolist() == scores[2].tolist() and scores[1, 0, 0] == 0.6
    target = np.array([[2, 1, 0]])
    names = ["background", "cat", "dog"]
    plain = evaluate([(scores, target)], names, unseen=["dog"])
    tuned = evaluate([(scores, target)], names, unseen=["dog"], gamma=0.2)
    assert plain["per_class"]["dog"] == 0.0 and plain["per_class"]["background"] == 1.0
    assert tuned["per_class"]["dog"] == pytest.approx(0.5)  # 1 / (1 + 2 - 1)
    assert tuned["per_class"]["background"] == 0.0 and tuned["gamma"] == 0.2


def test_evaluate_accepts_labels_and_scores_alike() -> None:
    scores = np.zeros((4, *PRED.shape))
    rows, cols = np.indices(PRED.shape)
    scores[PRED, rows, cols] = 1.0
    from_scores = evaluate([(scores, TARGET)], NAMES, unseen=["dog", "cow"])
    from_labels = evaluate([(PRED, TARGET)], NAMES, unseen=["dog", "cow"])
    assert from_scores == from_labels
    with pytest.raises(MetricsError, match="cannot tell"):
        evaluate([(scores[None, None], TARGET)], NAMES, unseen=["dog"])


def _size_pair() -> tuple[np.ndarray, np.ndarray]:
    target = np.zeros((20, 20), np.uint8)  # 400 pixels
    target[0, 0:3] = 1  # cat: 3 px = 0.75 % -> bucket [0, 1%)
    target[10:20, 10:20] = 2  # dog: 100 px = 25 % -> bucket [20%, 100%]; background: 297 px = 74.25 %
    pred = np.zeros_like(target)
    pred[0, 0] = 1  # one cat pixel found, two called background
    pred[0, 5] = 1  # one background pixel called cat
    pred[11:20, 10:20] = 2  # 90 of the 100 dog pixels found
    return pred, target


def test_size_buckets_small_and_large_object() -> None:
    m = Evaluator(["background", "cat", "dog"], unseen=["dog"])
    m.add(*_size_pair())
    r = m.result()
    small, b1, b2, large = r["size_buckets"]
    assert small["range"] == [0.0, 0.01] and large["range"] == [0.2, 1.0]
    # cat: I = 1, U = 3 + 2 - 1 = 4
    assert small["seen"] == {"IoU": pytest.approx(0.25), "objects": 1}
    assert small["unseen"] == {"IoU": None, "objects": 0}
    assert small["overall"]["IoU"] == pytest.approx(0.25)
    assert b1["overall"] == b2["overall"] == {"IoU": None, "objects": 0}
    # background: I = 296, U = 297 + 308 - 296 = 309; dog: I = 90, U = 100
    assert large["seen"] == {"IoU": pytest.approx(296 / 309), "objects": 1}
    assert large["unseen"] == {"IoU": pytest.approx(0.9), "objects": 1}
    assert large["overall"] == {"IoU": pytest.approx(386 / 409), "objects": 2}
    assert r["object_size"] == pytest.approx({"background": 0.7425, "cat": 0.0075, "dog": 0.25})
    # A second image filled with cat: cat's mean object size becomes (0.0075 + 1.0) / 2.
    m.add(np.ones((20, 20), np.uint8), np.ones((20, 20), np.uint8))
    r2 = m.result()
    assert r2["object_size"]["cat"] == pytest.approx(0.50375)
    assert r2["size_buckets"][3]["seen"]["objects"] == 2


def test_size_bucket_edges_are_half_open() -> None:
    stats = SizeStats(2)
    assert stats.bucket_of([0.0, 0.0099, 0.01, 0.05, 0.2, 1.0]).tolist() == [0, 0, 1, 2, 3, 3]
    with pytest.raises(MetricsError):
        SizeStats(2, edges=[0.0, 0.5, 0.4, 1.0])


# --- JSON and table -------------------------------------------------------------------------------


def test_json_round_trip_matches_contract(tmp_path) -> None:
    m = _evaluator()
    m.add(PRED, TARGET)
    r = m.result()
    path = write_json(r, tmp_path / "run" / "metrics.json")
    text = path.read_text(encoding="utf-8")
    loaded = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert loaded == read_json(path) == r
    assert {"setting", "seen", "unseen", "overall", "hIoU", "per_class"} <= set(loaded)
    for subset in ("seen", "unseen", "overall"):
        assert set(loaded[subset]) == {"PA", "MA", "mIoU"}
        assert all(0.0 <= v <= 1.0 for v in loaded[subset].values())
    assert all(isinstance(v, float) for v in loaded["per_class"].values())
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temporary file left behind


def test_write_json_refuses_out_of_contract_values(tmp_path) -> None:
    m = _evaluator()
    m.add(PRED, TARGET)
    bad = m.result()
    bad["overall"]["mIoU"] = 56.7  # a percentage, not a fraction
    with pytest.raises(MetricsError, match="overall.mIoU"):
        write_json(bad, tmp_path / "metrics.json")
    assert not (tmp_path / "metrics.json").exists()
    nan = m.result()
    nan["hIoU"] = float("nan")
    with pytest.raises(MetricsError, match="hIoU"):
        check_contract(nan)


def test_format_table_is_aligned_and_in_percent() -> None:
    m = _evaluator()
    m.add(PRED, TARGET)
    text = format_table(m.result())
    lines = text.splitlines()
    assert lines[0] == "GZLSS | 1 images | hIoU 56.6"
    subset_rows = lines[1:5]
    assert [row.split()[0] for row in subset_rows] == ["subset", "seen", "unseen", "overall"]
    assert len({len(row) for row in subset_rows}) == 1  # right-aligned columns
    assert subset_rows[1].split()[1:] == ["83.3", "83.3", "55.0"]
    assert any(line.split()[:2] == ["dog", "66.7"] for line in lines)
