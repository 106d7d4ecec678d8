"""An int8 encoder beside the float one (the library behind ``zerolabel quantize MODEL_DIR --calibration IMAGES``).

ONNX Runtime static quantization (``onnxruntime.quantization.quantize_static``), QDQ format: weights int8 per output
channel, activations uint8 with ranges calibrated on sample images. Each calibration image is read with
:func:`core.io.image.read_image` and prepared by the model's own record (:func:`core.inference.preprocess.preprocess`,
the one preprocessing owner), so the ranges are those of the images the app will feed.

Only ``Conv``/``MatMul``/``Gemm`` are quantized (the compute); element-wise ops, resizes, soft-maxes and normalisations
stay float. The encoder is first prepared by ONNX Runtime's ``quant_pre_process`` (shape inference, graph
optimisation), as its documentation asks.

The folder keeps ``encoder.onnx``; ``encoder.int8.onnx`` is written beside it and ``manifest.json`` points
``encoder`` at it, with ``precision: "int8"``, ``encoder_fp32`` (the float file) and the calibration record. The
runtime reads ``encoder`` as before, so nothing else changes; ``--fp32`` points the manifest back.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from core.errors import ZerolabelError
from core.inference.preprocess import Preprocessing, preprocess
from core.io.atomic import atomic_write_text
from core.io.image import IMAGE_SUFFIXES, read_image

log = logging.getLogger(__name__)
INT8_ENCODER = "encoder.int8.onnx"
#: The operators quantized: the convolutions and matrix products (where the time goes).
OP_TYPES = ("Conv", "MatMul", "Gemm", "Clip", "Relu")
DEFAULT_LIMIT = 32


class CalibrationError(ZerolabelError):
    """The calibration images cannot be used (missing, empty or unreadable folder)."""


def calibration_images(folder: str | os.PathLike, limit: int = DEFAULT_LIMIT) -> list[Path]:
    """Up to ``limit`` image files of ``folder`` (searched recursively, sorted) that decode; errors name the folder."""
    root = Path(folder)
    if not root.is_dir():
        raise CalibrationError(f"--calibration {root}: no such folder; give a folder of sample images like the "
                               "ones you will label")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise CalibrationError(f"--calibration {root}: no images in this folder (looked for "
                               f"{', '.join(sorted(IMAGE_SUFFIXES))}); give a folder of sample images")
    good: list[Path] = []
    bad: list[str] = []
    for path in files:
        if len(good) >= limit:
            break
        try:
            read_image(path)
            good.append(path)
        except (ZerolabelError, OSError, ValueError) as exc:
            bad.append(f"{path.name} ({exc})")
    if not good:
        raise CalibrationError(f"--calibration {root}: none of its {len(files)} images can be read, e.g. {bad[0]}; "
                               "give a folder of readable sample images")
    if bad:
        log.warning("calibration: skipped %d unreadable images in %s: %s", len(bad), root, "; ".join(bad[:3]))
    return good


def calibration_batches(images: Sequence[Path], record: Preprocessing) -> Iterator[dict[str, np.ndarray]]:
    """The encoder's feeds, one image at a time, prepared by the model's preprocessing record, then the centre
    ``input_size`` square of the result (the short side already is ``input_size``): one shape for every image, as
    the histogram calibrators (percentile, entropy) need."""
    size = record.input_size
    for path in images:
        x = preprocess(read_image(path), record)
        top, left = max(0, (x.shape[2] - size) // 2), max(0, (x.shape[3] - size) // 2)
        yield {"image": np.ascontiguousarray(x[:, :, top:top + size, left:left + size])}


def _reader(images: Sequence[Path], record: Preprocessing):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = calibration_batches(images, record)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    return Reader()


def quantize_encoder(source: Path, target: Path, images: Sequence[Path], record: Preprocessing, *,
                     per_channel: bool = True, method: str = "minmax") -> None:
    """Write the int8 QDQ encoder of ``source`` to ``target``, calibrated on ``images``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    with tempfile.TemporaryDirectory(prefix="zerolabel-quant-") as work:
        prepared = Path(work) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        partial = Path(work) / "int8.onnx"
        quantize_static(str(prepared), str(partial), _reader(images, record), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(OP_TYPES), per_channel=per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=methods[method])  # no CalibMaxIntermediateOutputs: ORT 1.31 then
        # clears each full chunk of collected ranges without merging it (only the last partial chunk would count)
        shutil.move(str(partial), str(target))


def quantize_model(folder: str | os.PathLike, calibration: str | os.PathLike, *, limit: int = DEFAULT_LIMIT,
                   per_channel: bool = True, method: str = "minmax") -> Path:
    """Add the int8 encoder to an exported model folder and make it the manifest's encoder; returns the manifest.

    Example:
        >>> quantize_model("models/rn-onnx", "photos/")  # doctest: +SKIP
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    manifest = _read_manifest(folder)
    fp32 = manifest.get("encoder_fp32", manifest["encoder"])
    if not (folder / fp32).is_file():
        raise ZerolabelError(f"{folder / fp32}: the float encoder is missing; export the model again")
    images = calibration_images(calibration, limit)
    record = Preprocessing.from_manifest(manifest)
    quantize_encoder(folder / fp32, folder / INT8_ENCODER, images, record, per_channel=per_channel, method=method)
    manifest.update({"encoder": INT8_ENCODER, "encoder_fp32": fp32, "precision": "int8",
                     "quantization": {"format": "QDQ", "weights": "int8" + (" per channel" if per_channel else ""),
                                      "activations": "uint8", "calibration": method, "images": len(images),
                                      "operators": list(OP_TYPES)}})
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest_path


def use_fp32(folder: str | os.PathLike) -> Path:
    """Point the manifest back at the float encoder (the int8 file stays, unused)."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    if "encoder_fp32" in manifest:
        manifest["encoder"] = manifest.pop("encoder_fp32")
    manifest["precision"] = "fp32"
    manifest.pop("quantization", None)
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return folder / "manifest.json"


def _read_manifest(folder: Path) -> dict:
    from core.inference.runtime import OnnxModel

    return dict(OnnxModel(folder, device="cpu", threads=1).manifest)  # checked: a loadable model folder
