"""The second part of the bad-input corpus, continued: special files where a file is expected (no hang, never
"does not exist"), checkpoints with damaged fields, and names that no stored format can hold.

Rows follow ``test_corpus_cli.py``'s; ``python tests/hardening/test_corpus_files.py`` prints them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.data.labelmap import LabelMap
from core.data.layout import DatasetWriter, LayoutDataset
from core.embeddings import build_encoder
from core.errors import DatasetError, EmbeddingSourceError, ImageError, InvalidNameError
from core.io import read_image, write_image
from core.models import CheckpointError, load_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from corpus import fifo  # noqa: E402
from test_corpus import CASES as FIRST_PART  # noqa: E402
from test_corpus import Case, Ctx, exit2, raises  # noqa: E402
from test_corpus_cli import CASES as CLI_PART  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
CASES: list[Case] = []


def case(id: str, entry: str, expected: str):
    def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        CASES.append(Case(id, entry, expected, fn))
        return fn

    return register


# -- special files where a file is expected (no hang, never "does not exist") --------------------------------
SPECIAL = {"dev-zero": lambda ctx: Path("/dev/zero"), "fifo": lambda ctx: fifo(ctx.tmp / "pipe.bin"),
           "folder": lambda ctx: _folder(ctx.tmp / "vectors.bin")}


def _folder(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _special_provider(provider: str, make: Callable[[Ctx], Path]) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        path = make(ctx)
        error = raises(EmbeddingSourceError, "not a regular file", lambda: build_encoder(f"{provider}:{path}"))
        assert "does not exist" not in str(error)

    return run


for _provider in ("word2vec", "fasttext", "attributes"):
    for _kind, _make in SPECIAL.items():
        if _provider == "attributes" and _kind == "folder":
            continue  # a folder is searched for CUB's table (its own message)
        CASES.append(Case(f"provider-{_provider}-{_kind}", f"core.embeddings {_provider}:PATH",
                          "EmbeddingSourceError 'not a regular file', no hang", _special_provider(_provider, _make)))


@case("embeddings-import-fifo", "zerolabel embeddings import", "exit 2 'not a regular file', no hang")
def _(ctx: Ctx) -> None:
    path = fifo(ctx.tmp / "pipe.vec")
    exit2(ctx.cli(["embeddings", "import", "word2vec", path, "--store", ctx.out]), "not a regular file")


@case("embed-provider-dev-zero", "zerolabel embed --provider", "exit 2 'not a regular file'")
def _(ctx: Ctx) -> None:
    exit2(ctx.cli(["embed", "--provider", "word2vec:/dev/zero", "cat"]), "not a regular file")


@case("checkpoint-a-fifo", "core.models.load_checkpoint", "CheckpointError 'not a regular file', no hang")
def _(ctx: Ctx) -> None:
    raises(CheckpointError, "not a regular file", lambda: load_checkpoint(fifo(ctx.tmp / "best.pt")))


@case("checkpoint-dev-zero", "core.models.load_checkpoint", "CheckpointError 'not a regular file', no endless read")
def _(ctx: Ctx) -> None:
    raises(CheckpointError, "not a regular file", lambda: load_checkpoint("/dev/zero"))


@case("eval-best-pt-a-fifo", "zerolabel eval RUN", "exit 2 'not a regular file', no hang")
def _(ctx: Ctx) -> None:
    fifo(ctx.tmp / "run" / "best.pt")
    exit2(ctx.cli(["eval", ctx.tmp / "run", "--data", ctx.shapes]), "not a regular file")


@case("image-a-fifo", "core.io.read_image", "ImageError 'not a regular file', no hang")
def _(ctx: Ctx) -> None:
    raises(ImageError, "not a regular file", lambda: read_image(fifo(ctx.tmp / "pipe.png")))


@case("labelmap-a-fifo", "core.data.labelmap.LabelMap.read", "DatasetError 'not a regular file', no hang")
def _(ctx: Ctx) -> None:
    root = ctx.dataset()
    (root / "labelmap.txt").unlink()
    fifo(root / "labelmap.txt")
    raises(DatasetError, "not a regular file", lambda: LayoutDataset(root))


@case("split-list-a-fifo", "core.data.layout.LayoutDataset.ids", "DatasetError 'not a regular file', no hang")
def _(ctx: Ctx) -> None:
    root = ctx.dataset()
    fifo(root / "ImageSets" / "Segmentation" / "train.txt")
    raises(DatasetError, "not a regular file", lambda: LayoutDataset(root).ids("train"))


CHECKPOINT_FIELDS: dict[str, tuple[Callable[[dict], dict], str]] = {
    "embed-dim-a-word": (lambda d: {**d, "config": {**d["config"], "embed_dim": "big"}}, "config.embed_dim"),
    "image-size-negative": (lambda d: {**d, "config": {**d["config"], "image_size": -5}}, "config.image_size"),
    "options-a-list": (lambda d: {**d, "config": {**d["config"], "options": [1]}}, "config.options"),
    "step-a-word": (lambda d: {**d, "step": "x"}, "step"),
    "split-a-string": (lambda d: {**d, "split": "abc"}, "split"),
    "seen-classes-a-number": (lambda d: {**d, "seen_classes": 5}, "seen_classes"),
}


def _checkpoint_field(change: Callable[[dict], dict], needle: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        import torch

        path = ctx.checkpoint()
        torch.save(change(torch.load(path, weights_only=True)), path)
        raises(CheckpointError, needle, lambda: load_checkpoint(path))

    return run


for _id, (_change, _needle) in CHECKPOINT_FIELDS.items():
    CASES.append(Case(f"checkpoint-field-{_id}", "core.models.load_checkpoint", f"CheckpointError naming {_needle}",
                      _checkpoint_field(_change, _needle)))


STORE_META: dict[str, Callable[[dict], object]] = {
    "a-list": lambda m: [m],
    "dim-a-word": lambda m: {**m, "dim": "eight"},
    "count-negative": lambda m: {**m, "count": -1},
    "kind-missing": lambda m: {k: v for k, v in m.items() if k != "kind"},
    "files-outside-the-store": lambda m: {**m, "files": {"../../etc/passwd": 1}},
    "matrix-a-number": lambda m: {**m, "matrix": 5},
}


def _store_meta(change: Callable[[dict], object]) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        vectors = ctx.tmp / "v.txt"
        vectors.write_text("2 3\ncat 1 2 3\ndog 3 2 1\n")
        assert ctx.cli(["embeddings", "import", "word2vec", vectors, "--name", "v", "--store", ctx.tmp / "s"]).code == 0
        meta = ctx.tmp / "s" / "v" / "meta.json"
        meta.write_text(json.dumps(change(json.loads(meta.read_text()))))
        raises(EmbeddingSourceError, "meta.json", lambda: build_encoder(f"store:{meta.parent}").embed(["cat"]))

    return run


for _id, _change in STORE_META.items():
    CASES.append(Case(f"store-meta-{_id}", "core.embeddings store:PATH", "EmbeddingSourceError naming meta.json",
                      _store_meta(_change)))


# -- names that no stored format can hold --------------------------------------------------------------------
CLASS_NAMES = {"cr": "red\rcircle", "lf": "red\ncircle", "u2028": "red\u2028circle", "u2029": "red\u2029circle",
               "nul": "red\x00circle", "escape": "red\x1b[31mcircle", "leading-hash": "#red circle",
               "leading-space": " red circle"}


def _class_name(name: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        raises(InvalidNameError, "class name", lambda: DatasetWriter(ctx.out, LabelMap.from_names(["background",
                                                                                                   name])))
        assert not ctx.out.exists()

    return run


def _predict_class_name(name: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        exit2(ctx.cli(["predict", ctx.demo, ctx.image(), "--classes", f"blue square,{name}", "--out", ctx.out]),
              "class name")
        assert not ctx.out.exists()

    return run


for _id, _name in CLASS_NAMES.items():
    CASES.append(Case(f"class-name-{_id}", "core.data.labelmap / DatasetWriter", "InvalidNameError, nothing written",
                      _class_name(_name)))
for _id in ("cr", "u2028", "escape"):
    CASES.append(Case(f"predict-class-name-{_id}", "zerolabel predict --classes", "exit 2 naming the class name, "
                      "OUT not created", _predict_class_name(CLASS_NAMES[_id])))

IMAGE_IDS = {"newline": "a\nb", "leading-space": " a", "leading-hash": "#a", "hidden": ".a", "u2028": "a\u2028b"}


def _image_id(stem: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        writer = DatasetWriter(ctx.out, LabelMap.from_names(["background", "cat"]))
        raises(InvalidNameError, "image id", lambda: writer.add(stem, np.zeros((4, 4, 3), np.uint8),
                                                                np.zeros((4, 4), np.uint8), split="train"))
        assert not list((ctx.out / "JPEGImages").iterdir())

    return run


for _id, _stem in IMAGE_IDS.items():
    CASES.append(Case(f"image-id-{_id}", "core.data.layout.DatasetWriter.add", "InvalidNameError, nothing written",
                      _image_id(_stem)))


@case("data-info-split-list-hidden-id", "zerolabel data info", "exit 2 naming the split list and line")
def _(ctx: Ctx) -> None:
    root = ctx.dataset()
    write_image(root / "JPEGImages" / ".x.png", np.zeros((16, 16, 3), np.uint8))
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("x\n.x\n")
    exit2(ctx.cli(["data", "info", root]), "train.txt:2")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, cli, tiny_shapes: Path, demo_model_copy: Path) -> None:
    case.run(Ctx(tmp_path, cli, tiny_shapes, demo_model_copy))
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"


def test_case_ids_are_unique_across_the_corpus() -> None:
    ids = [c.id for c in FIRST_PART + CLI_PART + CASES]
    assert len(set(ids)) == len(ids)


if __name__ == "__main__":
    for n, c in enumerate(CASES, len(FIRST_PART) + len(CLI_PART) + 1):
        print(f"| {n} | `{c.id}` | {c.entry} | {c.expected} |")
