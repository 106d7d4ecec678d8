"""Self-training on a folder of unlabeled photos: ZS5Net-style pseudo-labels from the photo model, a trained model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli.photos import register
from core.data.layout import LayoutDataset
from core.errors import ZerolabelError
from core.inference.runtime import Predictor
from core.io.image import read_image, write_image
from core.photo import sample_photos_folder
from training.photo_selftrain import pseudo_labels, write_pseudo_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


def test_pseudo_labels_keep_the_top_p_percent_per_class_over_the_whole_folder():
    # Image a: class 1 everywhere on the left with confidence 0.9; image b: class 1 with confidence 0.6.
    heat_a = np.zeros((1, 4, 4), np.float32)
    heat_a[0, :, :2] = 0.9
    heat_a[0, :, 2:] = np.array([0.1, 0.3])  # background with two certainty levels
    heat_b = np.full((1, 4, 4), 0.6, np.float32)
    labels_a = np.zeros((4, 4), np.uint8)
    labels_a[:, :2] = 1
    labels_b = np.ones((4, 4), np.uint8)
    out_a, out_b = pseudo_labels([heat_a, heat_b], [labels_a, labels_b], top_p=25)
    assert (out_a[:, :2] == 1).all() and (out_b == 255).all()  # one threshold for class 1 over both photos
    assert (out_a[:, 2] == 0).all() and (out_a[:, 3] == 255).all()  # the most certain background only
    with pytest.raises(ZerolabelError, match="top-p"):
        pseudo_labels([heat_a], [labels_a], top_p=0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Two small real photos (a cat, a cup) from the shipped samples."""
    root = tmp_path_factory.mktemp("photos")
    for name in ("chelsea", "coffee"):
        image = read_image(sample_photos_folder() / f"{name}.jpg")
        h, w = image.shape[:2]
        scale = 160 / max(h, w)
        write_image(root / f"{name}.jpg", cv2.resize(image, (round(w * scale), round(h * scale)),
                                                      interpolation=cv2.INTER_AREA))
    return root


def test_unsupported_names_are_a_clear_error(folder, tmp_path):
    with pytest.raises(ZerolabelError, match="'sky'"):
        write_pseudo_dataset(folder, ["cat", "sky"], tmp_path / "pseudo")


def test_cli_writes_pseudo_labels_trains_and_exports_a_model_the_runtime_loads(folder, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "run"
    args = parser.parse_args(["selftrain-photos", str(folder), "--classes", "cat,cup", "--out", str(out),
                              "--backbone", "tiny", "--steps", "2", "--image-size", "64", "--batch-size", "2",
                              "--messages", "jsonl", "--device", "cpu"])
    assert args.func(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(m.get("status") == "done" for m in lines)

    pseudo = LayoutDataset(out / "pseudo")
    assert pseudo.classes == ("background", "cat", "cup")
    ids = pseudo.ids("train")
    assert len(ids) == 2 and set(pseudo.ids("val")) <= set(ids)
    cat = next(i for i in ids if i.endswith("chelsea"))
    labels = pseudo.label(cat)
    assert set(np.unique(labels).tolist()) <= {0, 1, 2, 255}
    assert (labels == 1).mean() > 0.2 and 0 < (labels == 255).mean() < 1  # confident cat pixels, the rest ignored

    predictor = Predictor(out / "onnx", device="cpu")
    image = read_image(folder / "coffee.jpg")
    assert predictor.predict(image, ["cat", "cup"]).labels.shape == image.shape[:2]
    assert json.loads((out / "selftrain-photos.json").read_text())["classes"] == ["cat", "cup"]


def test_stroke_taught_classes_join_the_pseudo_labels(folder, tmp_path):
    from core.photo import photo_model_folder, stroke_features
    from core.photo.strokes import StrokeHead

    predictor = Predictor(photo_model_folder(), device="cpu")
    image = read_image(folder / "coffee.jpg")  # 160 x 107: wooden table top right, cup and saucer in the middle
    table, other = np.zeros(image.shape[:2], np.uint8), np.zeros(image.shape[:2], np.uint8)
    cv2.line(table, (125, 5), (155, 25), 1, 5)
    cv2.line(other, (60, 40), (100, 40), 1, 5)
    cv2.line(other, (40, 80), (110, 95), 1, 5)
    head = StrokeHead("photo-model").add(stroke_features(predictor, image), {"table": table.astype(bool)},
                                         negatives=other.astype(bool)).fit()
    head.save(tmp_path / "strokes.npz")
    data, counts = write_pseudo_dataset(folder, ["cup", "table"], tmp_path / "pseudo", strokes=tmp_path / "strokes.npz")
    assert counts["table"] > 0
    labels = LayoutDataset(data).label(next(i for i in LayoutDataset(data).ids("train") if i.endswith("coffee")))
    assert (labels[:25, 125:] == 2).mean() > 0.3 and (labels[35:45, 65:95] == 2).mean() < 0.1
