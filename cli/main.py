"""The ``zerolabel`` command line: one parser, every subcommand, one error path (the console script's ``main``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core import __version__
from core.errors import ZerolabelError, describe_os_error


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand; each command module of this package has ``register(subparsers)``."""
    from cli import data, demo, embeddings, formats, photos, predict, quantize, train

    parser = argparse.ArgumentParser(
        prog="zerolabel",
        description="Zero-shot semantic segmentation: datasets, class-name embeddings, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"zerolabel {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data, embeddings, predict, quantize, formats, demo, train, photos):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command line; user errors print one message and exit 2 (the ``zerolabel`` console script).

    The one error path of every command: a :class:`ZerolabelError` or an ``OSError`` (a read-only output folder,
    ``--out`` that is a file, ``--json`` that is a folder) prints one ``zerolabel: error:`` line naming the path
    and what to do; bad flag values are argparse usage errors (exit 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZerolabelError as exc:
        print(f"zerolabel: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout went away (`zerolabel data info DIR | head`): not an error
        return 141
    except OSError as exc:
        print(f"zerolabel: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zerolabel: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
