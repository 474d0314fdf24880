"""Entry point of the ``automatch`` command: one sub-command per module, chosen by name.

Every user-caused problem surfaces as ``automatch: error: <one line>`` and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence as SequenceOf

from automatch_jax import __version__
from automatch_jax.errors import AutomatchError

# sub-command name -> module defining `register(subparsers)`; imported lazily so that `automatch eval`
# never pays for importing JAX.
COMMANDS = {
    "eval": "automatch_jax.cli.eval_cmd",
    "submission": "automatch_jax.cli.submission_cmd",
    "info": "automatch_jax.cli.info_cmd",
    "track": "automatch_jax.cli.track_cmd",
    "run-benchmark": "automatch_jax.cli.run_benchmark_cmd",
    "demo": "automatch_jax.cli.demo_cmd",
    "train": "automatch_jax.cli.train_cmd",
    "synth": "automatch_jax.cli.synth_cmd",
    "search": "automatch_jax.cli.search_cmd",
    "export": "automatch_jax.cli.export_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="automatch",
        description="AutoMatch single-object tracking in JAX: evaluate, track, train and search.",
    )
    parser.add_argument("--version", action="version", version=f"automatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: SequenceOf[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AutomatchError as error:
        print(f"automatch: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("automatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
