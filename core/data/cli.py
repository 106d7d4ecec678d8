"""``zerolabel data ...`` subcommands: make-shapes, info."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from core.data.layout import LayoutDataset
from core.data.shapes import ShapesConfig, write_shapes


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
    make.add_argument("out", type=Path, help="output dataset folder")
    make.add_argument("--size", type=int, default=defaults.size, help="image side in pixels (default %(default)s)")
    make.add_argument("--train", type=int, default=defaults.train, help="training images (default %(default)s)")
    make.add_argument("--val", type=int, default=defaults.val, help="validation images (default %(default)s)")
    make.add_argument("--test", type=int, default=defaults.test, help="test images (default %(default)s)")
    make.add_argument("--colours", type=int, default=defaults.colours, help="colour words, 2..8 (default %(default)s)")
    make.add_argument("--shapes", type=int, default=defaults.shapes, help="shape words, 2..8 (default %(default)s)")
    make.add_argument("--unseen-count", type=int, default=defaults.unseen_count,
                      help="unseen classes picked so every word also occurs in a seen class (default %(default)s)")
    make.add_argument(
        "--unseen", default="", help="explicit unseen classes, comma separated, e.g. 'red star,blue heart'"
    )
    make.add_argument("--max-objects", type=int, default=defaults.max_objects, help="objects per image, at most")
    make.add_argument("--no-clutter", action="store_true", help="no distractor lines and blobs")
    make.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)")
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
