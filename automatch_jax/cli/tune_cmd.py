"""``automatch tune``: search a benchmark's inference settings with optuna and write the best as a preset file."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from automatch_jax.cli.arguments import non_negative_int, positive_int
from automatch_jax.cli.track_cmd import add_model_arguments
from automatch_jax.errors import AutomatchError


def positive_float(text: str) -> float:
    """An argparse ``type=``: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    from automatch_jax.data.benchmarks import BENCHMARKS
    from automatch_jax.tracking.tune import DEFAULT_SPACE

    space = ", ".join(f"{k}={lo:g}:{hi:g}" for k, (lo, hi) in DEFAULT_SPACE.items())
    parser = subparsers.add_parser(
        "tune",
        help="search a benchmark's inference settings (optuna TPE) and write the best as a preset file",
        description="Search the tracker's inference settings on a validation benchmark with optuna's TPE sampler: "
        "every trial tracks each sequence once and scores the mean success AUC. The study lives in an SQLite "
        "file (--study): rerunning continues it, never repeating a finished trial. The best settings are written "
        "to --out, a preset file that 'automatch track --preset FILE' and 'run-benchmark --preset FILE' apply. "
        "Tuning on a test split makes its numbers meaningless, so a split named test is refused.",
    )
    parser.add_argument(
        "--dataset", default="otb", metavar="NAME",
        help=f"{', '.join(sorted(BENCHMARKS))} (default: otb, the layout 'automatch synth' writes; or got10k-val)",
    )
    parser.add_argument("--root", required=True, type=Path, help="the benchmark's folder, in its native layout")
    parser.add_argument("--study", required=True, type=Path, metavar="FILE.db",
                        help="SQLite file of the study (created, or continued when it exists)")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.json", help="write the best preset here")
    parser.add_argument("--trials", type=positive_int, default=None,
                        help="finished trials the study should hold (a rerun runs only the missing ones)")
    parser.add_argument("--minutes", type=positive_float, default=None,
                        help="wall-clock budget of this run (a started trial runs to its end)")
    parser.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="the sampler's seed (default 0)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=LOW:HIGH",
                        help=f"search a setting over [LOW, HIGH] (default: {space}); --set fixes one instead")
    parser.add_argument("--allow-test-split", action="store_true",
                        help="tune on a test split anyway (its numbers then no longer measure anything)")
    add_model_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def fixed_settings(args: argparse.Namespace) -> dict[str, float]:
    """The settings held fixed: the ``--preset``'s values, then every ``--set KEY=VALUE`` (numbers)."""
    from automatch_jax.models.settings import preset_values

    fixed = preset_values(args.preset) if args.preset else {}
    for item in args.set:
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep:
            raise AutomatchError(f"--set {item!r}: expected KEY=VALUE")
        try:
            fixed[key] = float(value)
        except ValueError:
            raise AutomatchError(f"--set {item!r}: the value must be a number") from None
    return fixed


def build_job(args: argparse.Namespace):
    """Every argument checked, in order, before any tracking: budgets, settings and intervals, output files, the
    study file, the benchmark (and its split), the model. Returns the :class:`~automatch_jax.tracking.tune.TuneJob`."""
    from automatch_jax.data.benchmarks import load_benchmark
    from automatch_jax.paths import check_output_file
    from automatch_jax.tracking import tune

    if args.trials is None and args.minutes is None:
        raise AutomatchError("give a budget: --trials N and/or --minutes M")
    fixed = fixed_settings(args)
    space = tune.search_space(args.param, fixed)
    if not space:
        raise AutomatchError("nothing to search: every default setting is fixed by --set; add --param NAME=LOW:HIGH")
    check_output_file(args.out, "--out")
    check_output_file(args.study, "--study")
    if Path(args.out).resolve() == Path(args.study).resolve():
        raise AutomatchError("--out and --study name the same file")
    tune.check_study_file(args.study)
    dataset = load_benchmark(args.dataset, args.root)
    split = tune.dataset_split(args.dataset, dataset)
    if split == "test" and not args.allow_test_split:
        raise AutomatchError(
            f"--dataset {args.dataset} is a test split: settings tuned on it make its numbers meaningless; tune on "
            "a validation split (got10k-val, a benchmark 'automatch synth' wrote) or pass --allow-test-split"
        )
    sequences = tune.benchmark_sequences(dataset)
    tune.check_model(args.model, fixed, space)
    deadline = time.time() + 60.0 * args.minutes if args.minutes is not None else None
    return tune.TuneJob(
        study=args.study, dataset=args.dataset.lower().replace("_", "-"), root=args.root, model=args.model,
        dtype=args.dtype, fixed=fixed, space=space, seed=args.seed, trials=args.trials, deadline=deadline,
        sequences=len(sequences),
    )


def run(args: argparse.Namespace) -> int:
    from automatch_jax.models.settings import write_preset_file
    from automatch_jax.tracking import tune

    job = build_job(args)
    result = tune.tune(job, workers=args.workers, progress=not args.quiet)
    write_preset_file(args.out, result.best_settings, tune.preset_record(job, result))
    requeued = f", {result.requeued} unfinished trial(s) of an earlier run queued again" if result.requeued else ""
    print(
        f"{tune.OBJECTIVE} {result.best_value:.4f} (trial {result.best_trial}; {result.ran} trial(s) run now, "
        f"{result.finished} in {args.study}{requeued}); preset in {args.out} "
        f"(automatch track --preset {args.out} ...)"
    )
    return 0
