"""``zerolabel demo``: the foundation end to end on generated data (:func:`core.demo.run_demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.flags import number
from core import demo


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``zerolabel demo`` to the top-level parser."""
    p = subparsers.add_parser(
        "demo",
        help="run the foundation end to end on a generated dataset (no download, no trained model)",
        description=demo.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default demo-output)")
    p.add_argument("--provider", default="glove50", help="embedding provider (default glove50)")
    p.add_argument("--train", type=number(int, 1, 100_000), default=120, help="training images (default 120)")
    p.add_argument("--test", type=number(int, 1, 100_000), default=60, help="test images (default 60)")
    p.add_argument("--seed", type=number(int, 0), default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return demo.run_demo(args.out, args.provider, args.train, args.test, args.seed)
