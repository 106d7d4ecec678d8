"""The one argparse ``type`` of every numeric flag of the ``zerolabel`` command line."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


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
