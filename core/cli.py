"""The ``zerolabel`` command line: one parser, subcommands registered by the modules that own them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core import __version__
from core.errors import ZerolabelError


def build_parser(extra: Sequence[object] = ()) -> argparse.ArgumentParser:
    """The parser with core's subcommands plus those of ``extra`` modules (each has ``register(subparsers)``).

    ``training.cli`` passes its own module: ``core`` never imports ``training`` (import-linter contract).
    """
    from core import demo
    from core.data import cli as data_cli
    from core.embeddings import cli as embeddings_cli
    from core.inference import batch as inference_cli

    parser = argparse.ArgumentParser(
        prog="zerolabel",
        description="Zero-shot semantic segmentation: datasets, class-name embeddings, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"zerolabel {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data_cli, embeddings_cli, inference_cli, demo, *extra):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, extra: Sequence[object] = ()) -> int:
    """Run a command line; user errors print one message and exit 2 (the console script is ``training.cli``)."""
    parser = build_parser(extra)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZerolabelError as exc:
        print(f"zerolabel: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zerolabel: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
