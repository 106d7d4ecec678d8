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
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from core.annotation.store import acquire_lock, release_lock
from core.cli import number
from core.data.base import BACKGROUND
from core.data.labelmap import LabelMap
from core.data.layout import LABELMAP, DatasetWriter
from core.errors import ZerolabelError
from core.inference.builtin import BUILTIN_MODELS, builtin_model_folder
from core.inference.prelabel import Outputs, assemble_coco, write_outputs
from core.io.image import IMAGE_SUFFIXES, read_image

PREFETCH = 4
#: Built-in model names and their folders under the installed ``resources`` package.


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

    print(f"exported to {export_onnx(args.run, args.out).parent}")
    return 0


def model_folder(model: str) -> Path:
    """An ONNX folder as is; a run folder is exported once into ``RUN/onnx`` (needs torch, once); a built-in name."""
    path = Path(model)
    if model in BUILTIN_MODELS and not path.exists():
        return builtin_model_folder(model)
    if (path / "manifest.json").is_file():
        return path
    if (path / "best.pt").is_file() or path.suffix == ".pt":
        run = path if path.is_dir() else path.parent
        target = run / "onnx"
        if not (target / "manifest.json").is_file():
            from core.inference.export import export_onnx

            export_onnx(path, target)
        return target
    raise ZerolabelError(f"{model}: neither an exported ONNX folder (manifest.json), a run folder (best.pt) nor a "
                         f"built-in model ({', '.join(BUILTIN_MODELS)})")


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


def prepare_output(out: Path, names: list[str]) -> LabelMap:
    """Check OUT before anything is written: a folder we can write, made with the same classes if it exists."""
    labelmap = LabelMap.from_names([BACKGROUND, *names])
    if out.exists() and not out.is_dir():
        raise ZerolabelError(f"--out {out}: is a file, not a folder; give a new or existing folder")
    existing = out / LABELMAP
    if existing.is_file():
        try:
            old = LabelMap.read(existing).names
        except (ZerolabelError, OSError, ValueError) as exc:
            raise ZerolabelError(f"{existing}: unreadable ({exc}); give a new --out folder") from exc
        if list(old) != list(labelmap.names):
            raise ZerolabelError(
                f"{out} was labelled with the classes {', '.join(old[1:])}; its label maps would change meaning "
                f"under {', '.join(names)}: give a new --out folder (or the same --classes, in the same order)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{id(out)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ZerolabelError(f"--out {out}: cannot write there ({exc.strerror or exc}); choose a folder you can "
                             "write to") from None
    return labelmap


def run_predict(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.classes.split(",") if n.strip()]
    if not names:
        raise ZerolabelError("--classes is empty; give at least one class name")
    shard, shards = parse_shard(args.shard)
    items = [t for k, t in enumerate(list_images(args.inputs)) if k % shards == shard]
    folder = model_folder(args.model)
    out = Path(args.out)
    outputs = Outputs(out, tuple(names), args.heatmaps, args.format in ("coco", "both"))
    outputs.check_names()
    split = "predicted" if shards == 1 else f"predicted-shard-{shard}-of-{shards}"
    try:
        if args.engine == "ray":
            from core.inference.ray_engine import run_ray

            failures = run_ray(args, folder, outputs, items, split)
        else:
            failures = _run_local(args, folder, outputs, items, split)
    finally:
        for token in outputs.lock:
            release_lock(out, token)
    if outputs.coco:
        done = sorted(i for i, _ in items if outputs.done(i))
        assemble_coco(outputs, done, out / ("coco.json" if shards == 1 else f"coco-shard-{shard}-of-{shards}.json"))
    for line in failures:
        print(f"skipped {line}", file=sys.stderr)
    print(f"labelled {len(items) - len(failures)} images into {out} (split {split}); {len(failures)} skipped")
    return 0 if not failures else 1


def open_run(args: argparse.Namespace, folder: Path, outputs: Outputs, items, split: str, threads=None):
    """The predictor (checked against the classes before OUT is touched), the writer and the images to do."""
    from core.inference.runtime import Predictor

    predictor = Predictor(folder, device=args.device, cache_size=1, threads=threads)
    predictor.text.embed(list(outputs.names))  # an unknown word stops here, before OUT is created
    labelmap = prepare_output(outputs.out, list(outputs.names))
    # from here on OUT is ours: the app (or another predict) may not write it until run_predict releases it
    outputs.lock.append(acquire_lock(outputs.out, "zerolabel predict"))
    writer = DatasetWriter(outputs.out, labelmap)
    todo = []
    for sample_id, path in items:
        if not args.overwrite and outputs.done(sample_id):
            writer.splits.setdefault(split, []).append(sample_id)
        else:
            todo.append((sample_id, path))
    print(f"{len(items) - len(todo)} already labelled, {len(todo)} to do; device {predictor.model.device}"
          + (f" ({predictor.model.note})" if predictor.model.note else ""), file=sys.stderr)
    return predictor, writer, todo


def _run_local(args: argparse.Namespace, folder: Path, outputs: Outputs, items, split: str) -> list[str]:
    from tqdm import tqdm

    predictor, writer, todo = open_run(args, folder, outputs, items, split, args.threads)
    names = list(outputs.names)
    failures: list[str] = []
    workers = args.workers
    with ThreadPoolExecutor(workers) as readers, ThreadPoolExecutor(workers) as writers:
        pending: list[tuple[str, Path, Future]] = []
        reads = [readers.submit(read_image, p) for _, p in todo[:PREFETCH * workers]]
        for k, (sample_id, path) in enumerate(tqdm(todo, unit="img", disable=not todo)):
            if k + PREFETCH * workers < len(todo):
                reads.append(readers.submit(read_image, todo[k + PREFETCH * workers][1]))
            try:
                image = reads[k].result()
                reads[k] = None  # free memory
                pred = predictor.predict(image, names, calibration=args.calibration, min_area=args.min_area,
                                         key=sample_id)
                del image
            except (ZerolabelError, ValueError, MemoryError) as exc:
                failures.append(f"{path}: {exc if not isinstance(exc, MemoryError) else 'too large for memory'}")
                continue
            pending.append((sample_id, path, writers.submit(write_outputs, outputs, writer, sample_id, path, pred)))
            while len(pending) > 4 * workers:
                _settle(pending.pop(0), writer, split)
        for item in pending:
            _settle(item, writer, split)
    close_writer(writer)
    return failures


def close_writer(writer: DatasetWriter) -> None:
    """Split lists in sorted order (the same whichever engine or order the images were done in)."""
    for ids in writer.splits.values():
        ids.sort()
    writer.close()


def _settle(item: tuple[str, Path, Future], writer: DatasetWriter, split: str) -> None:
    sample_id, _, future = item
    future.result()  # a write error (disk full, read-only) stops the run with its message
    writer.splits.setdefault(split, []).append(sample_id)
