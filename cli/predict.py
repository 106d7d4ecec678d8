"""``zerolabel predict`` and ``zerolabel export-onnx``: batch pre-labelling into a trainable dataset.

``predict MODEL --classes "a,b" IMAGES_OR_DIRS --out OUT``: MODEL is an exported ONNX folder, a run folder
(exported once into ``RUN/onnx``), or a built-in name (``shapes``: the demo model; ``photos``: the photo model).
OUT is a dataset in zerolabel's layout (the input images linked or copied, indexed label PNGs, labelmap.txt), plus
COCO JSON with RLE masks (``--format coco|both``) and heatmap PNGs (``--heatmaps``). Decoding and writing overlap
inference (threads; ``--engine ray`` runs the same on a Ray cluster); a bad image is reported and skipped;
finished images (every requested output present) are skipped unless ``--overwrite``; ``--shard i/N`` splits the
sorted file list deterministically so N processes share one folder. An OUT made with other classes is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.flags import number
from core.inference.batch import PredictOptions, onnx_model_folder, predict_images
from training.runs import RunFolder


def register(subparsers: argparse._SubParsersAction) -> None:
    ex = subparsers.add_parser("export-onnx", help="export a run's encoder and scorer to ONNX (+ manifest)")
    ex.add_argument("run", help="run folder (best.pt) or checkpoint file")
    ex.add_argument("--out", required=True, help="output folder")
    ex.set_defaults(func=run_export)

    p = subparsers.add_parser("predict", help="pre-label images with a model into a trainable dataset",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="exported ONNX folder or run folder")
    p.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("--classes", required=True, help='comma-separated class names, e.g. "sea lion,rock"')
    p.add_argument("--out", required=True, help="output dataset folder")
    p.add_argument("--format", choices=("voc", "coco", "both"), default="voc")
    p.add_argument("--heatmaps", action="store_true", help="also write one heatmap PNG per class")
    p.add_argument("--calibration", type=number(float, 0), default=0.0,
                   help="gamma subtracted from seen-class scores (SPNet-C), >= 0")
    p.add_argument("--min-area", type=number(int, 0), default=0, help="drop regions smaller than this many pixels")
    p.add_argument("--workers", type=number(int, 1), default=2, help="image reader and writer threads (local engine), "
                   "or actors (Ray engine)")
    p.add_argument("--threads", type=number(int, 0), default=None,
                   help="ONNX Runtime intra-op threads per model (0: every core; default: measured setting)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local threads (default) or Ray Data with an actor pool of ONNX Runtime sessions")
    p.add_argument("--address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--shard", default="0/1", help="i/N: process every N-th image starting at i")
    p.add_argument("--overwrite", action="store_true", help="redo images that already have a label")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.set_defaults(func=run_predict)


def run_export(args: argparse.Namespace) -> int:
    from core.inference.export import export_onnx
    from training.runs import resolve_checkpoint

    print(f"exported to {export_onnx(resolve_checkpoint(args.run), args.out).parent}")
    return 0


def model_folder(model: str) -> Path:
    """An ONNX folder as is; a built-in name; a run folder (or one of its checkpoints) is exported into ``RUN/onnx``
    when that export is missing or older than the checkpoint (:meth:`training.runs.RunFolder.model_folder`)."""
    path = Path(model)
    if path.is_dir() and RunFolder(path).checkpoint is not None and not (path / "manifest.json").is_file():
        return RunFolder(path).model_folder()
    if path.suffix == ".pt" and not path.is_dir():
        return RunFolder(path.parent).model_folder(path)
    return onnx_model_folder(model)


def run_predict(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.classes.split(",") if n.strip()]
    options = PredictOptions(format=args.format, heatmaps=args.heatmaps, calibration=args.calibration,
                             min_area=args.min_area, workers=args.workers, threads=args.threads, engine=args.engine,
                             address=args.address, shard=args.shard, overwrite=args.overwrite, device=args.device)
    result = predict_images(args.model, args.inputs, names, Path(args.out), options, resolve_model=model_folder)
    for line in result.failures:
        print(f"skipped {line}", file=sys.stderr)
    print(f"labelled {result.labelled} images into {result.out} (split {result.split}); {len(result.failures)} "
          "skipped")
    return 0 if not result.failures else 1
