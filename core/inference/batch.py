"""``zerolabel predict`` and ``zerolabel export-onnx``: batch pre-labelling into a trainable dataset.

``predict MODEL --classes "a,b" IMAGES_OR_DIRS --out OUT``: MODEL is an exported ONNX folder or a run folder
(exported once into ``RUN/onnx``). OUT is a dataset in zerolabel's layout (indexed PNG + labelmap.txt), plus COCO
JSON with RLE masks (``--format coco|both``) and heatmap PNGs (``--heatmaps``). Decoding and writing overlap
inference (threads); a bad image is reported and skipped; finished images are skipped unless ``--overwrite``;
``--shard i/N`` splits the sorted file list deterministically so N processes share one folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.data.base import BACKGROUND
from core.data.labelmap import LabelMap
from core.data.layout import LABELS, DatasetWriter
from core.errors import ZerolabelError
from core.io.atomic import atomic_write_text
from core.io.image import IMAGE_SUFFIXES, read_image, write_image

PREFETCH = 4


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
    p.add_argument("--calibration", type=float, default=0.0, help="gamma subtracted from seen-class scores")
    p.add_argument("--min-area", type=int, default=0, help="drop regions smaller than this many pixels")
    p.add_argument("--shard", default="0/1", help="i/N: process every N-th image starting at i")
    p.add_argument("--overwrite", action="store_true", help="redo images that already have a label")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.set_defaults(func=run_predict)


def run_export(args: argparse.Namespace) -> int:
    from core.inference.export import export_onnx

    print(f"exported to {export_onnx(args.run, args.out).parent}")
    return 0


def model_folder(model: str) -> Path:
    """An ONNX folder as is; a run folder is exported once into ``RUN/onnx`` (needs torch, once)."""
    path = Path(model)
    if (path / "manifest.json").is_file():
        return path
    if (path / "best.pt").is_file() or path.suffix == ".pt":
        run = path if path.is_dir() else path.parent
        target = run / "onnx"
        if not (target / "manifest.json").is_file():
            from core.inference.export import export_onnx

            export_onnx(path, target)
        return target
    raise ZerolabelError(f"{model}: neither an exported ONNX folder (manifest.json) nor a run folder (best.pt)")


def list_images(inputs: list[str]) -> list[tuple[str, Path]]:
    """``(sample id, path)`` for every image, sorted; ids are relative paths with '/' -> '__'."""
    found: list[tuple[str, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
                found.append(("__".join(f.relative_to(path).with_suffix("").parts), f))
        elif path.is_file():
            found.append((path.stem, path))
        else:
            raise ZerolabelError(f"{item}: no such file or folder")
    found.sort(key=lambda t: t[0])
    ids = [i for i, _ in found]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ZerolabelError(f"two inputs map to the same sample id {dup!r}; pass their common parent folder")
    return found


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ZerolabelError(f"--shard {text!r}: expected i/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise ZerolabelError(f"--shard {text!r}: need 0 <= i < N")
    return i, n


def rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE (column-major counts, starting with a run of zeros)."""
    flat = np.asfortranarray(mask).ravel(order="F").astype(np.uint8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1] if flat.size else 0]])))
    counts = np.diff(np.concatenate([[0], changes])).tolist()
    return {"size": list(mask.shape), "counts": counts}


def run_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.inference.runtime import Predictor

    names = [n.strip() for n in args.classes.split(",") if n.strip()]
    if not names:
        raise ZerolabelError("--classes is empty; give at least one class name")
    shard, shards = parse_shard(args.shard)
    items = [t for k, t in enumerate(list_images(args.inputs)) if k % shards == shard]
    predictor = Predictor(model_folder(args.model), device=args.device)
    labelmap = LabelMap.from_names([BACKGROUND, *names])
    predictor.text.embed(names)  # an unknown word stops here, before OUT is created, not once per image
    out = Path(args.out)
    split = "predicted" if shards == 1 else f"predicted-shard-{shard}-of-{shards}"
    writer = DatasetWriter(out, labelmap)
    coco: dict = {"images": [], "annotations": [], "categories": [{"id": i + 1, "name": n} for i, n in
                                                                    enumerate(names)]}
    failures: list[str] = []
    todo = []
    for sample_id, path in items:
        if not args.overwrite and (out / LABELS / f"{sample_id}.png").exists():
            writer.splits.setdefault(split, []).append(sample_id)
        else:
            todo.append((sample_id, path))
    print(f"{len(items) - len(todo)} already labelled, {len(todo)} to do; device {predictor.model.device}"
          + (f" ({predictor.model.note})" if predictor.model.note else ""), file=sys.stderr)
    with ThreadPoolExecutor(2) as readers, ThreadPoolExecutor(1) as writers:
        pending: list[Future] = []
        reads = [readers.submit(read_image, p) for _, p in todo[:PREFETCH]]
        for k, (sample_id, path) in enumerate(tqdm(todo, unit="img", disable=not todo)):
            if k + PREFETCH < len(todo):
                reads.append(readers.submit(read_image, todo[k + PREFETCH][1]))
            try:
                image = reads[k].result()
                pred = predictor.predict(image, names, calibration=args.calibration, min_area=args.min_area)
            except (ZerolabelError, OSError, ValueError) as exc:
                failures.append(f"{path}: {exc}")
                continue
            reads[k] = None  # free memory
            pending.append(writers.submit(_write, writer, out, sample_id, image, pred, split, args.heatmaps))
            if args.format in ("coco", "both"):
                _coco_add(coco, len(coco["images"]) + 1, sample_id, pred)
        for f in pending:
            f.result()
    writer.close()
    if args.format in ("coco", "both"):
        name = "coco.json" if shards == 1 else f"coco-shard-{shard}-of-{shards}.json"
        atomic_write_text(out / name, json.dumps(coco))
    for line in failures:
        print(f"skipped {line}", file=sys.stderr)
    print(f"labelled {len(todo) - len(failures)} images into {out} (split {split}); {len(failures)} skipped")
    return 0 if not failures else 1


def _write(writer: DatasetWriter, out: Path, sample_id: str, image, pred, split: str, heatmaps: bool) -> None:
    writer.add(sample_id, image, pred.labels, split=split)
    if heatmaps:
        for name, heat in zip(pred.names, pred.heatmaps, strict=True):
            target = out / "heatmaps" / name.replace(" ", "_").replace(os.sep, "_") / f"{sample_id}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            write_image(target, np.repeat((heat * 255).round().astype(np.uint8)[..., None], 3, axis=2))


def _coco_add(coco: dict, image_id: int, sample_id: str, pred) -> None:
    h, w = pred.labels.shape
    coco["images"].append({"id": image_id, "file_name": f"JPEGImages/{sample_id}.png", "height": h, "width": w})
    for c in range(1, len(pred.names) + 1):
        mask = pred.labels == c
        if mask.any():
            ys, xs = np.nonzero(mask)
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": c, "iscrowd": 0,
                "segmentation": rle(mask), "area": int(mask.sum()),
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
                "score": float(pred.heatmaps[c - 1][mask].mean()),
            })
