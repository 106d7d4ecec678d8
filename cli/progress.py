"""How a training command shows and records its progress, and where it runs: the flags every training command
shares (``--messages``, ``--device``, ``--export-onnx``), the bar or JSON-lines printer, ``RUN/status.json``."""

from __future__ import annotations

import argparse
import contextlib
import queue
import sys
import threading
from collections.abc import Iterable, Iterator

from core.errors import ZerolabelError, describe_os_error
from training.messages import CheckpointSaved, EvalDone, Finished, Log, StepDone
from training.runs import RunFolder, StatusRecorder


def run_flags(parser: argparse.ArgumentParser) -> None:
    """Flags every training command shares: how progress is shown and where it runs."""
    parser.add_argument("--messages", choices=("bar", "jsonl"), default="bar",
                        help="progress as a bar (default) or as JSON lines on stdout (for the app)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto (a CUDA GPU when torch sees one, else the CPU), cpu, or cuda (fails if none)")
    parser.add_argument("--export-onnx", action="store_true",
                        help="when the run is done, export its model to OUT/onnx (what the app loads)")


def drain(messages: queue.Queue, done: threading.Event) -> Iterator:
    """Messages from the queue until ``done`` is set and the queue is empty."""
    while not (done.is_set() and messages.empty()):
        try:
            yield messages.get(timeout=0.2)
        except queue.Empty:
            continue


def render(messages: Iterable) -> None:
    """Print progress messages with a tqdm bar."""
    from tqdm import tqdm

    bar = None
    for msg in messages:
        if isinstance(msg, StepDone):
            if bar is None:
                # Redraw twice a second on a terminal, every 30 s into a log file (keeps logs readable).
                interval = 0.5 if sys.stderr.isatty() else 30
                bar = tqdm(total=msg.total_steps, initial=msg.step - 1, unit="step", dynamic_ncols=True,
                           mininterval=interval)
            bar.update(msg.step - bar.n)
            bar.set_postfix(loss=f"{msg.loss:.4f}", lr=f"{msg.lr:.2e}")
        elif isinstance(msg, EvalDone):
            text = f"step {msg.step}: seen-class val mIoU {msg.score:.3f}{' (best)' if msg.best else ''}"
            (bar.write if bar else print)(text)
        elif isinstance(msg, Log):
            (bar.write if bar else print)(msg.text)
        elif isinstance(msg, CheckpointSaved):
            pass
        elif isinstance(msg, Finished):
            if bar is not None:
                bar.close()
                bar = None
            print(f"{msg.status} at step {msg.step}: {msg.checkpoint}" + (f"\n{msg.error}" if msg.error else ""))


def render_jsonl(messages: Iterable) -> None:
    """Print each message as one JSON line on stdout (flushed), for a parent process to read."""
    from training.messages import to_json

    for msg in messages:
        print(to_json(msg), flush=True)


def _recorded(messages: Iterable, record: StatusRecorder) -> Iterator:
    """Record each message in ``status.json``; a status file that cannot be written is reported once and the
    run goes on (its checkpoints are what matter)."""
    failed = False
    for msg in messages:
        if not failed:
            try:
                record(msg)
            except OSError as exc:
                failed = True
                yield Log(f"the run's status file is no longer updated: {describe_os_error(exc)}")
        yield msg


def _exporting(messages: Iterable, out: str) -> Iterator:
    """``--export-onnx``: a done run's model is exported to ``OUT/onnx`` before its Finished message goes out, so
    whoever reads "done" can load the model at once. A failed export is reported; the run stays done."""
    for msg in messages:
        if isinstance(msg, Finished) and msg.status == "done":
            from core.inference.export import export_onnx

            folder = RunFolder(out).onnx
            try:
                export_onnx(msg.checkpoint, folder)
                yield Log(f"model exported to {folder}")
            except (ZerolabelError, OSError, RuntimeError) as exc:
                yield Log(f"the model could not be exported to ONNX: {exc}")
        yield msg


@contextlib.contextmanager
def reporting(args: argparse.Namespace, out: str, command: list[str]) -> Iterator[queue.Queue]:
    """A message queue whose messages are shown (bar or JSON lines) and recorded in ``OUT/status.json``."""
    messages: queue.Queue = queue.Queue()
    done = threading.Event()
    stream = drain(messages, done)
    if args.export_onnx:
        stream = _exporting(stream, out)
    stream = _recorded(stream, StatusRecorder(out, command))
    printer = threading.Thread(target=render_jsonl if args.messages == "jsonl" else render, args=(stream,),
                               daemon=True)
    printer.start()
    try:
        yield messages
    finally:
        done.set()
        printer.join()


def select_device(choice: str) -> None:
    """``--device``: cpu forces the CPU; cuda fails now, with a clear message, when torch sees no GPU."""
    import os

    if choice == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ZerolabelError("--device cuda: torch sees no CUDA GPU on this machine (no driver, or a CPU build "
                                 "of torch); train with --device cpu or auto")
    if choice != "auto":
        os.environ["ZEROLABEL_DEVICE"] = choice
