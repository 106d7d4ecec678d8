"""One calibration rule: ``zerolabel eval`` scores exactly what ``predict`` and the app label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter
from core.evaluate import evaluate_checkpoint
from core.inference.export import export_onnx
from core.inference.runtime import Predictor
from core.metrics import Evaluator
from core.metrics.calibration import calibration_offsets
from core.metrics.confusion import MetricsError
from core.models import ModelConfig, build_model, save_checkpoint

NAMES = ["red circle", "blue square", "green star"]


@pytest.mark.parametrize("method", ["spnet", "rn"])
def test_eval_and_predict_calibrate_the_same_classes(tmp_path: Path, method: str) -> None:
    torch.manual_seed(1)
    model = build_model(ModelConfig(method, "tiny", 50, image_size=64)).eval()
    model.seen_classes = NAMES[:2]
    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, model, embedding_source="glove50", split={"seen": NAMES[:2], "unseen": NAMES[2:]})
    export_onnx(ckpt, tmp_path / "onnx")
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    samples = []
    with DatasetWriter(data, LabelMap.from_names(["background", *NAMES]), unseen=NAMES[2:]) as writer:
        for i in range(3):
            image = rng.integers(0, 255, (70, 90, 3), np.uint8)
            label = rng.integers(0, 4, (70, 90)).astype(np.uint8)
            writer.add(f"s{i}", image, label, split="test")
            samples.append((image, label))
    predictor = Predictor(tmp_path / "onnx", device="cpu")
    for gamma in (0.0, 0.3):
        evaluated = evaluate_checkpoint(ckpt, data, calibration=gamma)
        evaluator = Evaluator(["background", *NAMES], unseen=NAMES[2:])
        for image, label in samples:
            evaluator.add(predictor.predict(image, NAMES, calibration=gamma).labels, label)
        predicted = evaluator.result()
        assert evaluated["gamma"] == gamma
        assert abs(evaluated["overall"]["PA"] - predicted["overall"]["PA"]) < 2e-3, (gamma, method)


def test_the_rule_and_its_checks() -> None:
    assert calibration_offsets(["a", "b"], {"a"}, 0.5, background_score=True).tolist() == [0.5, 0.5, 0.0]
    assert calibration_offsets(["a", "b"], {"a"}, 0.5, background_score=False).tolist() == [0.0, 0.5, 0.0]
    for bad in (float("nan"), float("inf"), -0.1, "x"):
        with pytest.raises(MetricsError, match="calibration"):
            calibration_offsets(["a"], set(), bad, background_score=False)
