"""``zerolabel quantize``: a tiny exported model gets a working int8 encoder that stays close to the float one, the
manifest says so and the runtime loads it unchanged; bad calibration folders are refused by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cli.main import main as cli_main
from core.errors import ZerolabelError
from core.inference.export import export_onnx
from core.inference.quantize import INT8_ENCODER, CalibrationError, calibration_images, quantize_model
from core.inference.runtime import OnnxModel, Predictor, sample_images_folder
from core.models import ModelConfig, build_model, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

NAMES = ["red circle", "blue square", "green star"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("quant")
    torch.manual_seed(0)
    model = build_model(ModelConfig("spnet", "tiny", 50, image_size=64)).eval()
    save_checkpoint(work / "ckpt.pt", model, embedding_source="glove50", split={"seen": NAMES[:2],
                                                                               "unseen": NAMES[2:]})
    export_onnx(work / "ckpt.pt", work / "onnx")
    return work / "onnx"


@pytest.fixture()
def calibration(tmp_path: Path) -> Path:
    folder = tmp_path / "calib"
    folder.mkdir()
    for path in sorted((sample_images_folder() / "JPEGImages").iterdir())[:6]:
        shutil.copyfile(path, folder / path.name)
    assert len(list(folder.iterdir())) >= 3
    return folder


def test_int8_encoder_is_close_to_float_and_the_manifest_says_int8(exported, calibration, tmp_path):
    folder = shutil.copytree(exported, tmp_path / "model")
    assert cli_main(["quantize", str(folder), "--calibration", str(calibration)]) == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["precision"] == "int8" and manifest["encoder"] == INT8_ENCODER
    assert manifest["encoder_fp32"] == "encoder.onnx" and manifest["quantization"]["format"] == "QDQ"
    assert (folder / INT8_ENCODER).stat().st_size < 0.5 * (folder / "encoder.onnx").stat().st_size
    int8 = OnnxModel(folder, device="cpu", threads=1)
    ops = {n.op_type for n in __import__("onnx").load(folder / INT8_ENCODER).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    fp32 = OnnxModel(exported, device="cpu", threads=1)
    image = np.asarray(Image.open(next(iter(sorted(calibration.iterdir())))).convert("RGB"))
    for a, b in zip(fp32.encode(image), int8.encode(image), strict=True):
        assert a.shape == b.shape
        assert np.linalg.norm(a - b) / np.linalg.norm(a) < 0.1  # int8 rounding, not a different network
        assert not np.array_equal(a, b)  # really quantized
    p32 = Predictor(exported, device="cpu", threads=1).predict(image, NAMES)
    p8 = Predictor(folder, device="cpu", threads=1).predict(image, NAMES)
    assert p8.labels.shape == image.shape[:2]
    assert (p8.labels == p32.labels).mean() > 0.9

    assert cli_main(["quantize", str(folder), "--fp32"]) == 0  # and back
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["precision"] == "fp32" and manifest["encoder"] == "encoder.onnx"
    back = OnnxModel(folder, device="cpu", threads=1).encode(image)
    assert all(np.array_equal(a, b) for a, b in zip(fp32.encode(image), back, strict=True))


def test_empty_or_corrupt_calibration_folders_are_refused_by_name(exported, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(CalibrationError, match=f"{empty}.*no images"):
        calibration_images(empty)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "a.jpg").write_bytes(b"not a jpeg at all")
    (corrupt / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(CalibrationError, match=f"{corrupt}.*none of its 2 images can be read.*a.jpg"):
        calibration_images(corrupt)
    with pytest.raises(CalibrationError, match="no such folder"):
        calibration_images(tmp_path / "missing")
    folder = shutil.copytree(exported, tmp_path / "model")
    before = (folder / "manifest.json").read_text()
    assert cli_main(["quantize", str(folder), "--calibration", str(corrupt)]) == 2  # one error line, exit 2
    assert str(corrupt) in capsys.readouterr().err
    assert (folder / "manifest.json").read_text() == before and not (folder / INT8_ENCODER).exists()
    with pytest.raises(ZerolabelError, match="--calibration"):
        quantize_model(folder, empty)
