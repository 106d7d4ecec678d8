"""``zerolabel data ...`` subcommands: make-shapes, info."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from cli.flags import number
from core.data.layout import LayoutDataset
from core.data.shapes import SHAPES_LIMITS, ShapesConfig, make_spec, write_shapes
from core.io.atomic import ensure_writable_folder


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="dataset tools: make the shapes benchmark, inspect a dataset")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    make = sub.add_parser(
        "make-shapes",
        help="write the procedural '<colour> <shape>' zero-shot benchmark in zerolabel's layout",
        description="Write the procedural compositional zero-shot benchmark (train/val: seen classes only; "
        "test: at least one unseen object per image) as a dataset folder in zerolabel's layout.",
    )
    defaults = ShapesConfig()

    def limited(name: str):
        return number(int, *SHAPES_LIMITS[name])

    make.add_argument("out", type=Path, help="output dataset folder")
    make.add_argument("--size", type=limited("size"), default=defaults.size,
                      help="image side in pixels, 24..2048 (default %(default)s)")
    make.add_argument("--train", type=limited("train"), default=defaults.train,
                      help="training images (default %(default)s)")
    make.add_argument("--val", type=limited("val"), default=defaults.val,
                      help="validation images (default %(default)s)")
    make.add_argument("--test", type=limited("test"), default=defaults.test, help="test images (default %(default)s)")
    make.add_argument("--colours", type=limited("colours"), default=defaults.colours,
                      help="colour words, 2..8 (default %(default)s)")
    make.add_argument("--shapes", type=limited("shapes"), default=defaults.shapes,
                      help="shape words, 2..8 (default %(default)s)")
    make.add_argument("--unseen-count", type=limited("unseen_count"), default=defaults.unseen_count,
                      help="unseen classes picked so every word also occurs in a seen class (default %(default)s)")
    make.add_argument(
        "--unseen", default="", help="explicit unseen classes, comma separated, e.g. 'red star,blue heart'"
    )
    make.add_argument("--max-objects", type=limited("max_objects"), default=defaults.max_objects,
                      help="objects per image, at most (1..32)")
    make.add_argument("--no-clutter", action="store_true", help="no distractor lines and blobs")
    make.add_argument("--seed", type=limited("seed"), default=defaults.seed, help="random seed (default %(default)s)")
    make.set_defaults(func=_make_shapes)

    info = sub.add_parser("info", help="print a dataset's classes, splits, unseen classes and pixel counts")
    info.add_argument("root", type=Path, help="dataset folder in zerolabel's layout")
    info.add_argument("--pixels", action="store_true", help="also count labelled pixels per class (reads all labels)")
    info.set_defaults(func=_info)


def _make_shapes(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    cfg = ShapesConfig(
        size=args.size, train=args.train, val=args.val, test=args.test, colours=args.colours,
        shapes=args.shapes, unseen_count=args.unseen_count,
        unseen=tuple(n.strip() for n in args.unseen.split(",") if n.strip()),
        max_objects=args.max_objects, seed=args.seed, clutter=not args.no_clutter,
    )
    make_spec(cfg)  # a bad --unseen is refused before anything is created
    ensure_writable_folder(args.out)  # a read-only folder or a file in the way: one clear line, nothing written
    bar = tqdm(total=cfg.train + cfg.val + cfg.test, unit="img", desc="make-shapes")

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    spec = write_shapes(args.out, cfg, progress)
    bar.close()
    print(f"wrote {args.out}: {len(spec.classes)} classes ({len(spec.seen)} seen, {len(spec.unseen)} unseen)")
    print(f"unseen: {', '.join(spec.unseen)}")
    return 0


def _info(args: argparse.Namespace) -> int:
    ds = LayoutDataset(args.root)
    print(f"dataset  {ds.root}")
    print(f"classes  {len(ds.classes) - 1} + background")
    for index, name in enumerate(ds.classes):
        tag = " (unseen)" if name in ds.unseen else ""
        print(f"  {index:3d}  {name}{tag}")
    for split in ds.splits():
        print(f"split    {split}: {len(ds.ids(split))} images")
    if args.pixels:
        counts: Counter[int] = Counter()
        for split in ds.splits():
            for sample_id in ds.ids(split):
                values, n = np.unique(ds.label(sample_id), return_counts=True)
                counts.update(dict(zip(values.tolist(), n.tolist(), strict=True)))
        total = sum(counts.values())
        print("pixels   per class (fraction of all labelled pixels)")
        for index, name in enumerate(ds.classes):
            print(f"  {name:<24s} {counts.get(index, 0) / max(total, 1):8.4f}")
        print(f"  {'ignore (255)':<24s} {counts.get(255, 0) / max(total, 1):8.4f}")
    return 0
