"""argparse ``type=`` functions shared by the sub-commands: a meaningless number is refused as it is parsed, in one
line naming the option (``automatch track: error: argument --max-frames: expected an integer >= 1, got '-3'``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """A ``type=`` function taking an integer in ``[low, high]`` (no upper bound when ``high`` is None)."""
    wanted = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = wanted  # argparse names the type in some messages
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)
