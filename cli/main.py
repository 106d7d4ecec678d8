"""The ``zerolabel`` command line: one parser, subcommands registered by the modules that own them."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence

from core import __version__
from core.errors import ZerolabelError, describe_os_error


def number(
    kind: type[int] | type[float] = int,
    low: float | None = None,
    high: float | None = None,
    *,
    above: float | None = None,
) -> Callable[[str], int | float]:
    """An argparse ``type`` for every numeric flag: a finite ``kind`` in ``[low, high]`` (or ``> above``).

    A bad value ends in argparse's usage error (exit 2) naming the flag, the value and the allowed range:
    ``argument --batch-size: must be an integer >= 1, got '0'``.

    Example:
        >>> number(int, 1)("8"), number(float, above=0)("1e-3")
        (8, 0.001)
    """
    what = "an integer" if kind is int else "a number"
    bounds = [f">= {low}" if low is not None else "", f"> {above}" if above is not None else "",
              f"<= {high}" if high is not None else ""]
    wanted = " ".join([what, " and ".join(b for b in bounds if b)]).strip()

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number ({wanted}), got {text!r}")
        if (low is not None and value < low) or (above is not None and value <= above) or (
            high is not None and value > high
        ):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


def build_parser(extra: Sequence[object] = ()) -> argparse.ArgumentParser:
    """The parser with core's subcommands plus those of ``extra`` modules (each has ``register(subparsers)``).

    ``training.cli`` passes its own module: ``core`` never imports ``training`` (import-linter contract).
    """
    from core import demo
    from core.data import cli as data_cli
    from core.embeddings import cli as embeddings_cli
    from core.formats import cli as formats_cli
    from core.inference import batch as inference_cli

    parser = argparse.ArgumentParser(
        prog="zerolabel",
        description="Zero-shot semantic segmentation: datasets, class-name embeddings, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"zerolabel {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data_cli, embeddings_cli, inference_cli, formats_cli, demo, *extra):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, extra: Sequence[object] = ()) -> int:
    """Run a command line; user errors print one message and exit 2 (the console script is ``training.cli``).

    The one error path of every command: a :class:`ZerolabelError` or an ``OSError`` (a read-only output folder,
    ``--out`` that is a file, ``--json`` that is a folder) prints one ``zerolabel: error:`` line naming the path
    and what to do; bad flag values are argparse usage errors (exit 2).
    """
    parser = build_parser(extra)
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
