"""``zerolabel quantize MODEL_DIR --calibration IMAGES_DIR``: add an int8 encoder to an exported model folder
(:mod:`core.inference.quantize`); ``--fp32`` points the folder back at its float encoder."""

from __future__ import annotations

import argparse

from cli.flags import number
from core.errors import ZerolabelError
from core.inference.quantize import DEFAULT_LIMIT, INT8_ENCODER, quantize_model, use_fp32


def register(subparsers: argparse._SubParsersAction) -> None:
    from core.inference import quantize

    q = subparsers.add_parser("quantize", help="add an int8 encoder to an exported model (ONNX Runtime static "
                              "quantization, calibrated on sample images)", description=quantize.__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("model", help="exported ONNX model folder (manifest.json); changed in place")
    q.add_argument("--calibration", help="folder of sample images like those you will label (searched recursively)")
    q.add_argument("--images", type=number(int, 1), default=DEFAULT_LIMIT,
                   help=f"calibrate on at most this many images (default {DEFAULT_LIMIT})")
    q.add_argument("--method", choices=("minmax", "percentile", "entropy"), default="minmax",
                   help="activation range calibration (default minmax; percentile and entropy keep every "
                   "activation of every image in memory: use few --images)")
    q.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor instead of per channel")
    q.add_argument("--fp32", action="store_true", help="point the model back at its float encoder")
    q.set_defaults(func=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    if args.fp32:
        print(f"{use_fp32(args.model)}: encoder fp32")
        return 0
    if not args.calibration:
        raise ZerolabelError("quantize needs --calibration IMAGES_DIR (sample images like those you will label), "
                             "or --fp32")
    path = quantize_model(args.model, args.calibration, limit=args.images, per_channel=not args.per_tensor,
                          method=args.method)
    print(f"{path}: encoder int8 ({INT8_ENCODER}, calibrated on {args.calibration})")
    return 0
