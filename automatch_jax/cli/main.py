"""Entry point of the ``automatch`` command: one sub-command per module, chosen by name.

Every user-caused problem surfaces as one line, ``automatch: error: <problem>`` (or, for a malformed argument,
``automatch <command>: error: <problem>``), and exit code 2, before any long work starts: arguments are checked as
they are parsed, configs and output paths before the first model is loaded. An ``OSError`` that still reaches the
entry point (a disk that filled up, a file removed under a running command) names its path in the same one line;
one without a path is a bug and keeps its traceback.

Compiled XLA programs persist between runs in JAX's own compilation cache, ``~/.cache/automatch/xla`` (keyed by the
program and the compiler's options, so results never change), and a second ``automatch track`` or ``demo`` starts a
few seconds sooner. ``JAX_COMPILATION_CACHE_DIR`` picks another folder; ``AUTOMATCH_COMPILATION_CACHE=0`` turns it off.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence as SequenceOf
from pathlib import Path

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
    "tune": "automatch_jax.cli.tune_cmd",
    "export": "automatch_jax.cli.export_cmd",
}


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (``automatch track: error: ...``) without the usage text;
    its sub-command parsers are of the same class."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="automatch",
        description="AutoMatch single-object tracking in JAX: evaluate, track, train and search.",
    )
    parser.add_argument("--version", action="version", version=f"automatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).register(subparsers)
    return parser


def use_compilation_cache() -> None:
    """Points JAX's persistent compilation cache at ``~/.cache/automatch/xla`` unless the user chose a folder or
    ``AUTOMATCH_COMPILATION_CACHE=0``; takes effect when JAX is first imported (the commands import it lazily)."""
    if os.environ.get("AUTOMATCH_COMPILATION_CACHE", "1") == "0":
        return
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path.home() / ".cache" / "automatch" / "xla"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(2 * 2**30))  # bytes; JAX evicts the oldest beyond


def main(argv: SequenceOf[str] | None = None) -> int:
    use_compilation_cache()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a malformed argument (already reported in one line)
        return 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except AutomatchError as error:
        print(f"automatch: error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        if error.filename is None:
            raise
        paths = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
        print(f"automatch: error: {paths}: {error.strerror or error}", file=sys.stderr)
        return AutomatchError.exit_code
    except KeyboardInterrupt:
        print("automatch: interrupted", file=sys.stderr)
        return 130
    finally:
        if "automatch_jax.train.runner" in sys.modules:  # a train or search command may have joined a job
            sys.modules["automatch_jax.train.runner"].leave_distributed()


if __name__ == "__main__":
    sys.exit(main())
