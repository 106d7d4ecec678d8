"""The second part of the bad-input corpus: the command line's numbers, paths that cannot be written, damaged run
folders (``test_corpus_files.py`` continues it: special files, damaged checkpoints, names).

Same contract as ``test_corpus.py`` (whose helpers it uses): no traceback, exit status 2 with one error line naming
the flag / file / word, nothing half-written. ``python tests/hardening/test_corpus_cli.py`` prints the table rows.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter

sys.path.insert(0, str(Path(__file__).parent))
from corpus import fifo, palette_png, read_only  # noqa: E402
from test_corpus import CASES as FIRST_PART  # noqa: E402
from test_corpus import Case, Ctx, exit2  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
CASES: list[Case] = []
_TRAIN = ["--batch-size", "2", "--image-size", "32", "--steps", "2", "--eval-every", "1000"]


def case(id: str, entry: str, expected: str):
    def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        CASES.append(Case(id, entry, expected, fn))
        return fn

    return register


def usage2(result, flag: str, value: str) -> None:
    """An argparse usage error: exit 2, one ``error:`` line naming the flag and the value."""
    assert result.code == 2, (result.code, result.err)
    lines = [ln for ln in result.err.splitlines() if "error:" in ln]
    assert len(lines) == 1 and flag in lines[0] and repr(value) in lines[0], result.err


# -- numbers on the command line -----------------------------------------------------------------------------
def _numbers(command: Callable[[Ctx], list], flag: str, value: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        usage2(ctx.cli([*command(ctx), flag, value]), flag, value)
        assert not ctx.out.exists()

    return run


def _train(ctx: Ctx) -> list:
    return ["train", "--method", "rn", "--backbone", "tiny", "--data", ctx.shapes, "--out", ctx.out]


def _shapes(ctx: Ctx) -> list:
    return ["data", "make-shapes", ctx.out, "--train", "2", "--val", "1", "--test", "1"]


def _selftrain(ctx: Ctx) -> list:
    return ["selftrain", ctx.tmp / "run", "--unlabeled", ctx.shapes / "JPEGImages", "--out", ctx.out]


def _eval(ctx: Ctx) -> list:
    return ["eval", ctx.tmp / "run", "--data", ctx.shapes, "--json", ctx.out / "m.json"]


NUMBERS = [
    (_train, "train", "--batch-size", "0"), (_train, "train", "--lr", "nan"), (_train, "train", "--lr", "-1"),
    (_train, "train", "--image-size", "0"), (_train, "train", "--steps", "-1"), (_train, "train", "--steps", "0"),
    (_train, "train", "--seed", "-1"), (_train, "train", "--eval-every", "0"),
    (_train, "train", "--checkpoint-every", "0"), (_train, "train", "--episode-classes", "0"),
    (_train, "train", "--gmmn-steps", "-5"), (_train, "train", "--batch-size", "1e9"),
    (_shapes, "data make-shapes", "--size", "0"), (_shapes, "data make-shapes", "--size", "1"),
    (_shapes, "data make-shapes", "--size", "100000"), (_shapes, "data make-shapes", "--max-objects", "0"),
    (_shapes, "data make-shapes", "--seed", "-1"), (_shapes, "data make-shapes", "--train", "-3"),
    (_selftrain, "selftrain", "--top-p", "0"), (_selftrain, "selftrain", "--top-p", "nan"),
    (_selftrain, "selftrain", "--top-p", "101"), (_selftrain, "selftrain", "--rounds", "0"),
    (_selftrain, "selftrain", "--steps", "0"),
    (_eval, "eval", "--calibration", "nan"), (_eval, "eval", "--calibration", "inf"), (_eval, "eval", "--limit", "0"),
]
for _command, _name, _flag, _value in NUMBERS:
    CASES.append(Case(f"number-{_name.split()[-1]}{_flag}-{_value}", f"zerolabel {_name}",
                      f"usage error naming {_flag} and {_value!r}, nothing written", _numbers(_command, _flag, _value)))


# -- paths that cannot be written ----------------------------------------------------------------------------
@case("write-train-read-only-out", "zerolabel train", "exit 2 naming OUT, before the data is loaded")
def _(ctx: Ctx) -> None:
    with read_only(ctx.tmp / "locked") as locked:
        exit2(ctx.cli(["train", "--method", "rn", "--backbone", "tiny",
                       "--data", ctx.shapes, "--out", locked, *_TRAIN]), str(locked))
        assert not list(locked.iterdir())


@case("write-train-out-is-a-file", "zerolabel train", "exit 2 naming OUT")
def _(ctx: Ctx) -> None:
    (ctx.tmp / "a file").write_text("x")
    exit2(ctx.cli(["train", "--method", "rn", "--backbone", "tiny",
                   "--data", ctx.shapes, "--out", ctx.tmp / "a file", *_TRAIN]),
          "a file")


@case("write-make-shapes-read-only-out", "zerolabel data make-shapes", "exit 2 naming OUT, nothing written")
def _(ctx: Ctx) -> None:
    with read_only(ctx.tmp / "locked") as locked:
        exit2(ctx.cli([*_shapes(ctx)[:2], locked, "--train", "2", "--val", "0", "--test", "0"]), str(locked))
        assert not list(locked.iterdir())


@case("write-make-shapes-out-under-a-file", "zerolabel data make-shapes", "exit 2 naming OUT")
def _(ctx: Ctx) -> None:
    (ctx.tmp / "a file").write_text("x")
    exit2(ctx.cli(["data", "make-shapes", ctx.tmp / "a file" / "set", "--train", "2"]), "a file")


@case("write-eval-json-is-a-folder", "zerolabel eval --json", "exit 2 naming --json")
def _(ctx: Ctx) -> None:
    ctx.checkpoint()
    (ctx.out / "m.json").mkdir(parents=True)
    exit2(ctx.cli(_eval(ctx)), "is a folder")


@case("write-eval-json-read-only", "zerolabel eval --json", "exit 2 naming the file, no temporary file left")
def _(ctx: Ctx) -> None:
    ctx.checkpoint()
    with read_only(ctx.tmp / "locked") as locked:
        exit2(ctx.cli(["eval", ctx.tmp / "run", "--data", ctx.shapes, "--limit", "2", "--json", locked / "m.json"]),
              str(locked / "m.json"))
        assert not list(locked.iterdir())


@case("write-eval-json-under-a-file", "zerolabel eval --json", "exit 2 naming the file")
def _(ctx: Ctx) -> None:
    ctx.checkpoint()
    (ctx.tmp / "a file").write_text("x")
    exit2(ctx.cli(["eval", ctx.tmp / "run", "--data", ctx.shapes, "--limit", "2", "--json",
                   ctx.tmp / "a file" / "m.json"]), "a file")


@case("write-export-onnx-out-is-a-file", "zerolabel export-onnx", "exit 2 naming OUT")
def _(ctx: Ctx) -> None:
    ctx.checkpoint()
    (ctx.tmp / "a file").write_text("x")
    exit2(ctx.cli(["export-onnx", ctx.tmp / "run", "--out", ctx.tmp / "a file"]), "a file")


@case("write-export-onnx-read-only-out", "zerolabel export-onnx", "exit 2 naming OUT")
def _(ctx: Ctx) -> None:
    ctx.checkpoint()
    with read_only(ctx.tmp / "locked") as locked:
        exit2(ctx.cli(["export-onnx", ctx.tmp / "run", "--out", locked]), "locked")


@case("write-embeddings-import-read-only-store", "zerolabel embeddings import", "exit 2 naming the store folder")
def _(ctx: Ctx) -> None:
    (ctx.tmp / "v.txt").write_text("2 3\ncat 1 2 3\ndog 3 2 1\n")
    with read_only(ctx.tmp / "locked") as locked:
        result = ctx.cli(["embeddings", "import", "word2vec", ctx.tmp / "v.txt", "--store", locked])
        exit2(result, f"cannot write {locked}:")
        assert not list(locked.iterdir())


@case("write-embeddings-import-store-is-a-file", "zerolabel embeddings import", "exit 2: a file, not a folder")
def _(ctx: Ctx) -> None:
    (ctx.tmp / "v.txt").write_text("2 3\ncat 1 2 3\ndog 3 2 1\n")
    (ctx.tmp / "a file").write_text("x")
    exit2(ctx.cli(["embeddings", "import", "word2vec", ctx.tmp / "v.txt", "--store", ctx.tmp / "a file"]),
          "is a file, not a folder")


# -- run folders: config.json, relative paths, label maps of the wrong size ----------------------------------
BAD_CONFIGS: dict[str, tuple[Callable[[dict], object], str]] = {
    "steps-a-word": (lambda c: {**c, "steps": "many"}, "steps"),
    "lr-a-list": (lambda c: {**c, "lr": [0.1]}, "lr"),
    "batch-size-zero": (lambda c: {**c, "batch_size": 0}, "batch_size"),
    "unseen-a-number": (lambda c: {**c, "unseen": 5}, "unseen"),
    "options-a-list": (lambda c: {**c, "options": []}, "options"),
    "method-a-number": (lambda c: {**c, "method": 7}, "method"),
    "a-list": (lambda c: [c], "JSON object"),
    "no-method": (lambda c: {k: v for k, v in c.items() if k != "method"}, "method"),
}


def _bad_config(change: Callable[[dict], object], needle: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = ctx.checkpoint(name="last.pt")
        config = {"method": "rn", "data": str(ctx.shapes), "out": str(path.parent), "steps": 4}
        (path.parent / "config.json").write_text(json.dumps(change(config)))
        result = ctx.cli(["train", "--method", "rn", "--backbone", "tiny",
                          "--data", ctx.shapes, "--out", path.parent, "--resume", *_TRAIN])
        exit2(result, "config.json")
        assert needle in result.error_lines[0]

    return run


for _id, (_change, _needle) in BAD_CONFIGS.items():
    CASES.append(Case(f"resume-config-{_id}", "zerolabel train --resume", f"exit 2 naming config.json ({_needle})",
                      _bad_config(_change, _needle)))


@case("resume-config-not-json", "zerolabel train --resume", "exit 2 naming config.json")
def _(ctx: Ctx) -> None:
    path = ctx.checkpoint(name="last.pt")
    (path.parent / "config.json").write_text("{half")
    exit2(ctx.cli(["train", "--method", "rn", "--backbone", "tiny",
                   "--data", ctx.shapes, "--out", path.parent, "--resume", *_TRAIN]),
          "config.json")


@case("resume-config-a-fifo", "zerolabel train --resume", "exit 2 'not a regular file', no hang")
def _(ctx: Ctx) -> None:
    path = ctx.checkpoint(name="last.pt")
    fifo(path.parent / "config.json")
    exit2(ctx.cli(["train", "--method", "rn", "--backbone", "tiny",
                   "--data", ctx.shapes, "--out", path.parent, "--resume", *_TRAIN]),
          "not a regular file")


@case("resume-relative-data-from-elsewhere", "zerolabel train --resume", "resumes (exit 0); config.json absolute")
def _(ctx: Ctx) -> None:
    old = Path.cwd()
    words = ["red", "green", "blue", "circle", "square", "triangle"]
    rows = np.random.default_rng(0).normal(size=(len(words), 8))
    (ctx.tmp / "vectors.txt").write_text(f"{len(words)} 8\n" + "".join(
        f"{w} {' '.join(f'{v:.4f}' for v in row)}\n" for w, row in zip(words, rows, strict=True)))
    try:
        os.chdir(ctx.tmp)
        result = ctx.cli(["train", "--method", "rn", "--backbone", "tiny",
                          "--data", os.path.relpath(ctx.shapes), "--embedding",
                          "word2vec:vectors.txt", "--out", ctx.tmp / "run", *_TRAIN])
        assert result.code == 0, result.err
        (ctx.tmp / "elsewhere").mkdir()
        os.chdir(ctx.tmp / "elsewhere")
        saved = json.loads((ctx.tmp / "run" / "config.json").read_text())
        assert Path(saved["data"]).is_absolute() and Path(saved["out"]).is_absolute()
        assert Path(saved["embedding"].partition(":")[2]).is_absolute()
        result = ctx.cli(["train", "--method", "rn", "--backbone", "tiny",
                          "--data", ctx.shapes, "--out", ctx.tmp / "run", "--resume",
                          *_TRAIN[:4], "--steps", "3"])
        assert result.code == 0, result.err
        command = json.loads((ctx.tmp / "run" / "status.json").read_text())["command"]
        assert Path(command[command.index("--data") + 1]).resolve() == ctx.shapes.resolve()
    finally:
        os.chdir(old)


@case("train-label-map-of-another-size", "zerolabel train", "exit 2 naming the label map, never stretched")
def _(ctx: Ctx) -> None:
    root = ctx.tmp / "set"
    with DatasetWriter(root, LabelMap.from_names(["background", "red circle", "blue square"]),
                       unseen=["blue square"]) as writer:
        for i in range(4):
            writer.add(f"t{i}", np.zeros((40, 40, 3), np.uint8), np.ones((40, 40), np.uint8), split="train")
            writer.add(f"v{i}", np.zeros((40, 40, 3), np.uint8), np.ones((40, 40), np.uint8), split="val")
    palette_png(root / "SegmentationClass" / "t2.png", np.ones((20, 30), np.uint8))
    result = ctx.cli(["train", "--method", "rn", "--backbone", "tiny", "--data", root, "--out", ctx.out, *_TRAIN])
    exit2(result, str(root / "SegmentationClass" / "t2.png"))
    assert "30x20" in result.error_lines[0] and "40x40" in result.error_lines[0]


@case("train-backbone-unknown", "zerolabel train", "exit 2 naming the backbone, before the data is loaded")
def _(ctx: Ctx) -> None:
    exit2(ctx.cli([*_train(ctx), "--backbone", "resnet5O", *_TRAIN]), "resnet5O")
    assert not ctx.out.exists()


@case("train-option-unknown", "zerolabel train --option", "exit 2 naming the option and the known ones")
def _(ctx: Ctx) -> None:
    exit2(ctx.cli([*_train(ctx), "--option", "word_modul=cnn", *_TRAIN]), "word_modul")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, cli, tiny_shapes: Path, demo_model_copy: Path) -> None:
    case.run(Ctx(tmp_path, cli, tiny_shapes, demo_model_copy))
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"


def test_case_ids_are_unique_across_both_parts() -> None:
    ids = [c.id for c in FIRST_PART + CASES]
    assert len(set(ids)) == len(ids)


if __name__ == "__main__":
    for n, c in enumerate(CASES, len(FIRST_PART) + 1):
        print(f"| {n} | `{c.id}` | {c.entry} | {c.expected} |")
