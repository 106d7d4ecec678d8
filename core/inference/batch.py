"""Batch pre-labelling into a trainable dataset: the library behind ``zerolabel predict`` (:func:`predict_images`).

MODEL is an exported ONNX folder or a built-in name (``shapes``: the demo model; ``photos``: the photo model); the
command line also takes a run folder (``cli.predict`` asks :class:`training.runs.RunFolder` for its ``RUN/onnx``).
OUT is a dataset in zerolabel's layout (the input images linked or copied, indexed label PNGs, labelmap.txt), plus
COCO JSON with RLE masks (``format="coco"|"both"``) and heatmap PNGs (``heatmaps``). Decoding and writing overlap
inference (threads; ``engine="ray"`` runs the same on a Ray cluster); a bad image is reported and skipped;
finished images (every requested output present) are skipped unless ``overwrite``; ``shard="i/N"`` splits the
sorted file list deterministically so N processes share one folder. An OUT made with other classes is refused.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from core.annotation.store import acquire_lock, release_lock
from core.data.base import BACKGROUND
from core.data.labelmap import LabelMap
from core.data.layout import LABELMAP, DatasetWriter
from core.errors import ZerolabelError
from core.inference.builtin import BUILTIN_MODELS, builtin_model_folder
from core.inference.prelabel import Outputs, assemble_coco, write_outputs
from core.io.image import IMAGE_SUFFIXES, read_image

PREFETCH = 4


@dataclass(frozen=True)
class PredictOptions:
    """How :func:`predict_images` runs and what it writes (the flags of ``zerolabel predict``)."""

    format: str = "voc"  # voc | coco | both
    heatmaps: bool = False
    calibration: float = 0.0
    min_area: int = 0
    workers: int = 2  # reader and writer threads (local engine), or actors (Ray engine)
    threads: int | None = None  # ONNX Runtime intra-op threads per model (0: every core; None: measured setting)
    engine: str = "local"  # local | ray
    address: str | None = None  # Ray cluster address
    shard: str = "0/1"
    overwrite: bool = False
    device: str = "auto"


@dataclass(frozen=True)
class PredictResult:
    """What :func:`predict_images` did: images labelled into ``out`` under ``split``, and one line per skipped one."""

    out: Path
    split: str
    labelled: int
    failures: list[str] = field(default_factory=list)


def onnx_model_folder(model: str) -> Path:
    """An exported ONNX folder as is, or a built-in model by name (run folders: ``cli.predict.model_folder``)."""
    path = Path(model)
    if model in BUILTIN_MODELS and not path.exists():
        return builtin_model_folder(model)
    if (path / "manifest.json").is_file():
        return path
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


def predict_images(model: str, inputs: Sequence[str], names: Sequence[str], out: str | Path,
                   options: PredictOptions = PredictOptions(), *,
                   resolve_model: Callable[[str], Path] = onnx_model_folder) -> PredictResult:
    """Label every image of ``inputs`` (files or folders, searched recursively) with ``names`` into the dataset
    ``out``; ``resolve_model`` turns ``model`` into an ONNX model folder (called once the inputs are listed).

    Example:
        >>> predict_images("shapes", ["photos/"], ["red star"], "labels")  # doctest: +SKIP
        PredictResult(out=PosixPath('labels'), split='predicted', labelled=12, failures=[])
    """
    names = list(names)
    if not names:
        raise ZerolabelError("--classes is empty; give at least one class name")
    shard, shards = parse_shard(options.shard)
    items = [t for k, t in enumerate(list_images(list(inputs))) if k % shards == shard]
    folder = resolve_model(model)
    out = Path(out)
    outputs = Outputs(out, tuple(names), options.heatmaps, options.format in ("coco", "both"))
    outputs.check_names()
    split = "predicted" if shards == 1 else f"predicted-shard-{shard}-of-{shards}"
    try:
        if options.engine == "ray":
            from core.inference.ray_engine import run_ray

            failures = run_ray(options, folder, outputs, items, split)
        else:
            failures = _run_local(options, folder, outputs, items, split)
    finally:
        for token in outputs.lock:
            release_lock(out, token)
    if outputs.coco:
        done = sorted(i for i, _ in items if outputs.done(i))
        assemble_coco(outputs, done, out / ("coco.json" if shards == 1 else f"coco-shard-{shard}-of-{shards}.json"))
    return PredictResult(out, split, len(items) - len(failures), failures)


def open_run(args: PredictOptions, folder: Path, outputs: Outputs, items, split: str, threads=None):
    """The predictor (checked against the classes before OUT is touched), the writer and the images to do."""
    from core.inference.runtime import Predictor

    predictor = Predictor(folder, device=args.device, cache_size=1, threads=threads)
    predictor.text.embed(list(outputs.names))  # an unknown word stops here, before OUT is created
    labelmap = prepare_output(outputs.out, list(outputs.names))
    # from here on OUT is ours: the app (or another predict) may not write it until predict_images releases it
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


def _run_local(args: PredictOptions, folder: Path, outputs: Outputs, items, split: str) -> list[str]:
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
