"""``zerolabel predict --engine ray``: the same pre-labelling on Ray Data, for folders of millions of images.

The driver plans exactly as the local engine does (same checks, same skip/resume rule, same split list and
COCO assembly); the images to do become a Ray dataset whose ``map_batches`` runs on an actor pool, one ONNX
Runtime session per actor (``--workers`` actors, each given ``--threads`` CPUs, or a GPU with ``--device cuda``).
Each actor reads and decodes its images and writes their outputs (:func:`core.inference.prelabel.write_outputs`)
straight into OUT, so OUT must be a folder every node sees (a shared file system on a cluster). ``--address``
(or ``RAY_ADDRESS``) names a running cluster; without one a local Ray instance is started and stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from core.errors import ZerolabelError
from core.inference.prelabel import Outputs

BATCH = 4


class _Labeller:
    """One Ray actor: an ONNX Runtime session that labels batches of ``{"id", "path"}`` rows."""

    def __init__(self, folder: str, outputs: Outputs, calibration: float, min_area: int, device: str,
                 threads: int | None) -> None:
        from core.data.base import BACKGROUND
        from core.data.labelmap import LabelMap
        from core.data.layout import DatasetWriter
        from core.inference.runtime import Predictor

        self.predictor = Predictor(folder, device=device, cache_size=1, threads=threads)
        self.outputs = outputs
        self.options = {"calibration": calibration, "min_area": min_area}
        self.writer = DatasetWriter(outputs.out, LabelMap.from_names([BACKGROUND, *outputs.names]))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from core.inference.prelabel import write_outputs
        from core.io.image import read_image

        errors = []
        for sample_id, path in zip(batch["id"], batch["path"], strict=True):
            try:
                image = read_image(path)
                pred = self.predictor.predict(image, list(self.outputs.names), key=str(sample_id), **self.options)
            except (ZerolabelError, ValueError, MemoryError) as exc:
                errors.append(f"{path}: {exc if not isinstance(exc, MemoryError) else 'too large for memory'}")
                continue
            write_outputs(self.outputs, self.writer, str(sample_id), Path(path), pred)
            errors.append("")
        return {"id": np.asarray(batch["id"]), "error": np.asarray(errors, dtype=object)}


def connect(address: str | None, num_cpus: int | None = None) -> bool:
    """Connect to ``address`` (or ``RAY_ADDRESS``), else start a local instance; True when started here."""
    try:
        import ray
    except ImportError:
        raise ZerolabelError("--engine ray needs Ray: pip install 'zerolabel[ray]' (or pip install 'ray[data]')") \
            from None
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ZerolabelError(f"cannot reach the Ray cluster {address or '(local)'}: {exc}; check --address / "
                             "RAY_ADDRESS") from None
    return True


def run_ray(args: argparse.Namespace, folder: Path, outputs: Outputs, items, split: str) -> list[str]:
    """Label the images to do on Ray; returns the failure lines (as the local engine does)."""
    import ray

    from core.inference.batch import close_writer, open_run

    started = connect(args.address)
    try:
        _, writer, todo = open_run(args, folder, outputs, items, split, args.threads)
        failures: list[str] = []
        if todo:
            cpus = max(1, args.threads or 1)
            dataset = ray.data.from_items([{"id": i, "path": str(p)} for i, p in todo])
            labelled = dataset.map_batches(
                _Labeller, batch_size=BATCH, concurrency=args.workers, batch_format="numpy",
                num_cpus=0 if args.device == "cuda" else cpus, num_gpus=1 if args.device == "cuda" else 0,
                fn_constructor_kwargs={"folder": str(folder), "outputs": outputs, "calibration": args.calibration,
                                       "min_area": args.min_area, "device": args.device, "threads": args.threads})
            try:
                for row in labelled.iter_rows():
                    if row["error"]:
                        failures.append(str(row["error"]))
                    else:
                        writer.splits.setdefault(split, []).append(str(row["id"]))
            except ray.exceptions.RayError as exc:
                raise ZerolabelError(f"the Ray engine stopped: {_cause(exc)}") from None
        close_writer(writer)
        print(f"Ray engine: {args.workers} actor(s)", file=sys.stderr)
        return failures
    finally:
        if started:
            ray.shutdown()


def _cause(exc: BaseException) -> str:
    """The user-facing line of a Ray error (the remote exception's message, not its traceback)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, OSError):
        from core.errors import describe_os_error

        return describe_os_error(cause, action="write")
    return str(cause or exc).strip().splitlines()[-1]
