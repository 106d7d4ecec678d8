"""ONNX export matches torch; the ONNX predictor caches encodings, keeps sizes and never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.embeddings import build_encoder
from core.inference.export import export_onnx
from core.inference.runtime import Predictor, remove_specks
from core.models import ModelConfig, build_model, predict_probabilities, save_checkpoint
from core.models.base import IMAGENET_MEAN, IMAGENET_STD

NAMES = ["red circle", "blue square", "green star"]


def _checkpoint(tmp_path: Path, method: str) -> Path:
    torch.manual_seed(0)
    model = build_model(ModelConfig(method, "tiny", 50, image_size=64)).eval()
    glove = build_encoder("glove50")
    if hasattr(model, "set_seen_classes"):
        model.set_seen_classes(NAMES[:2], torch.from_numpy(glove.embed(NAMES[:2])))
        with torch.no_grad():
            model.weight.normal_()
        from core.models.zs3net import fit_unseen

        feats = {0: torch.rand(40, 64), 1: torch.rand(40, 64) + 1, 2: torch.rand(40, 64) + 2}
        emb = torch.from_numpy(glove.embed(NAMES))
        fit_unseen(model, NAMES[2:], emb[2:], feats, {1: emb[0], 2: emb[1]}, steps=5, classifier_steps=5)
    model.seen_classes = NAMES[:2]
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, model, embedding_source="glove50", split={"seen": NAMES[:2], "unseen": NAMES[2:]})
    return path


def _torch_probs(ckpt: Path, image: np.ndarray) -> np.ndarray:
    from core.models import load_checkpoint

    model, _ = load_checkpoint(ckpt)
    x = (image.astype(np.float32) / 255 - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    x = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
    emb = torch.from_numpy(build_encoder("glove50").embed(NAMES))
    with torch.no_grad():
        return predict_probabilities(model, model.encode(x), emb, image.shape[:2])[0].numpy()


@pytest.mark.parametrize("method", ["rn", "spnet", "zs3net", "unet"])
def test_onnx_matches_torch(tmp_path: Path, method: str) -> None:
    ckpt = _checkpoint(tmp_path, method)
    export_onnx(ckpt, tmp_path / "onnx")
    image = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    predictor = Predictor(tmp_path / "onnx", device="cpu")
    pred = predictor.predict(image, NAMES)
    reference = _torch_probs(ckpt, image)
    assert pred.heatmaps.shape == (3, 64, 80) and pred.labels.shape == (64, 80)
    assert np.abs(pred.heatmaps - np.clip(reference[1:], 0, 1)).max() < 1e-4
    assert (pred.labels == reference.argmax(0)).mean() > 0.999


def test_class_edits_reuse_the_cached_encoding_and_large_images_keep_their_size(tmp_path: Path) -> None:
    export_onnx(_checkpoint(tmp_path, "rn"), tmp_path / "onnx")
    predictor = Predictor(tmp_path / "onnx", device="cpu")
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    predictor.predict(image, NAMES[:1])
    predictor.predict(image, NAMES)
    predictor.predict(image, ["purple heart"])
    assert predictor.encoder_runs == 1
    big = np.zeros((1500, 4000, 3), np.uint8)
    assert predictor.model.preprocess(big).shape[2:] == (64, 171)  # short side at the model size
    assert predictor.predict(big, NAMES).labels.shape == (1500, 4000)
    assert predictor.encoder_runs == 2


def test_specks_below_min_area_become_background() -> None:
    labels = np.zeros((20, 20), np.uint8)
    labels[2:10, 2:10] = 1
    labels[15, 15] = 1
    labels[18:20, 0:2] = 2
    out = remove_specks(labels, min_area=5)
    assert out[5, 5] == 1 and out[15, 15] == 0 and out[19, 0] == 0


def test_predicting_never_imports_torch(tmp_path: Path) -> None:
    export_onnx(_checkpoint(tmp_path, "rn"), tmp_path / "onnx")
    code = (
        "import sys, numpy as np\n"
        "from core.inference.runtime import Predictor\n"
        f"p = Predictor({str(tmp_path / 'onnx')!r}, device='cpu')\n"
        "r = p.predict(np.zeros((50, 60, 3), np.uint8), ['red circle', 'tv monitor'])\n"
        "assert r.labels.shape == (50, 60)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _rle_decode(seg: dict) -> np.ndarray:
    h, w = seg["size"]
    flat = np.zeros(h * w, np.uint8)
    pos, value = 0, 0
    for count in seg["counts"]:
        flat[pos : pos + count] = value
        pos, value = pos + count, 1 - value
    return flat.reshape((h, w), order="F")


def test_predict_cli_writes_a_trainable_dataset_coco_and_heatmaps(tmp_path: Path, capsys) -> None:
    import json

    from cli.main import main
    from core.data.layout import LayoutDataset
    from core.io.image import write_image

    run = tmp_path / "run"
    run.mkdir()
    _checkpoint(tmp_path, "rn").rename(run / "best.pt")
    images = tmp_path / "images"
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(images / ("sub" if i % 2 else "") / f"im{i}.png", rng.integers(0, 255, (40, 50, 3), np.uint8))
    (images / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    args = ["predict", str(run), str(images), "--classes", "red circle,blue square", "--out", str(out),
            "--format", "both", "--heatmaps", "--device", "cpu"]
    assert main(args) == 1  # one bad image: reported, the rest done
    err = capsys.readouterr().err
    assert "broken.jpg" in err
    ds = LayoutDataset(out)
    assert ds.classes == ("background", "red circle", "blue square")
    assert sorted(ds.ids("predicted")) == ["im0", "im2", "sub__im1", "sub__im3"]
    label = ds.label("im0")
    coco = json.loads((out / "coco.json").read_text())
    for ann in coco["annotations"]:
        image = next(i for i in coco["images"] if i["id"] == ann["image_id"])
        if image["file_name"].endswith("/im0.png"):
            assert np.array_equal(_rle_decode(ann["segmentation"]), label == ann["category_id"])
    assert (out / "heatmaps" / "red_circle" / "im0.png").exists()
    assert main(args) == 1 and "0 to do" not in capsys.readouterr().err  # the broken one is retried
    (images / "broken.jpg").unlink()
    assert main(args) == 0 and "4 already labelled, 0 to do" in capsys.readouterr().err


def test_shards_split_the_work_without_overlap(tmp_path: Path) -> None:
    from core.inference.batch import list_images, parse_shard

    for i in range(7):
        (tmp_path / f"{i}.png").write_bytes(b"")
    items = list_images([str(tmp_path)])
    parts = [{sid for k, (sid, _) in enumerate(items) if k % 3 == s} for s in range(3)]
    assert set.union(*parts) == {sid for sid, _ in items} and sum(len(p) for p in parts) == 7
    assert parse_shard("2/3") == (2, 3)
    with pytest.raises(Exception, match="0 <= i < N"):
        parse_shard("3/3")


def test_embedded_demo_model_labels_the_sample_images_offline() -> None:
    from core.data.layout import LayoutDataset
    from core.inference.runtime import demo_model_folder, sample_images_folder
    from core.metrics import Evaluator

    predictor = Predictor(demo_model_folder(), device="cpu")
    ds = LayoutDataset(sample_images_folder())
    names = list(ds.unseen)
    evaluator = Evaluator(["background", *names], unseen=names, size_edges=None)
    lut = np.full(256, 255, np.uint8)
    lut[0] = 0
    for i, name in enumerate(names, start=1):
        lut[ds.classes.index(name)] = i
    for sample in ds.iter_split("test"):
        pred = predictor.predict(sample.image, names)
        assert pred.labels.shape == sample.label.shape and pred.device == "cpu"
        evaluator.add(pred.labels, lut[sample.label])
    # classes the model never saw in training, recognised from their names only (chance is far below this)
    assert evaluator.result()["unseen"]["mIoU"] > 0.25
