"""Which training source helps: one short run of a config per mix of its ``data.sources`` (each mix keeps the
config's weights of the sources it holds), every run then tracked on the same synthetic benchmark beside OpenCV's
CSRT, in one table (success AUC / Prec@20, and for reference the real sequences when ``--real`` is given).

    python benchmarks/source_ablation.py --config configs/automatch_lite_cpu.py:1500,fast-authors --frozen \\
        --work ablation --bench SYNTH [--real ../shared/data/sequences] \\
        [--mix synthetic --mix synthetic,synthetic-video --mix synthetic,synthetic-video,real-video]

Without ``--bench`` the benchmark is synthesised into ``WORK`` from the imagery's test split (``--sequences``,
``--frames``, ``--seed``, as in ``benchmarks/model_compare.py``).

The runs are ordinary training runs in ``WORK/runs/<mix>`` (a killed ablation resumes where it stopped);
``--frozen`` keeps the backbone frozen throughout (the cheap part of a schedule), so the mixes differ only in
their data. The table goes to stdout and ``WORK/compare.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import model_compare

from automatch_jax.data.imagery import Imagery
from automatch_jax.errors import AutomatchError
from automatch_jax.train.config import load_config
from automatch_jax.train.loop import train


def mix_config(config_arg: str, mix: list[str], frozen: bool):
    """The config of ``config_arg`` trained on the sources of ``mix`` only (their weights as in the config)."""
    config = load_config(config_arg)
    sources = dict(config.data.sources)
    unknown = [name for name in mix if name not in sources]
    if unknown:
        raise AutomatchError(f"--mix {','.join(mix)}: {', '.join(unknown)} not in the config's data.sources "
                             f"({', '.join(sources)})")
    config.data.sources = {name: sources[name] for name in mix}
    if frozen:
        config.train.unfreeze_step = int(config.train.steps) + 1
    return config


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="configs/<name>.py[:arg]")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--bench", type=Path, default=None, help="an OTB-layout synthetic benchmark")
    parser.add_argument("--sequences", type=int, default=44, help="without --bench: sequences to synthesise")
    parser.add_argument("--frames", type=int, default=60, help="without --bench: frames per sequence")
    parser.add_argument("--seed", type=int, default=1, help="without --bench: the benchmark's seed")
    parser.add_argument("--real", type=Path, default=None, help="real OTB-layout sequences (reference only)")
    parser.add_argument("--mix", action="append", default=None,
                        help="comma-separated source names (repeatable; default: each source added in turn)")
    parser.add_argument("--frozen", action="store_true", help="keep the backbone frozen throughout")
    parser.add_argument("--max-steps", type=int, default=None, help="stop each run early (tests)")
    parser.add_argument("--imagery", type=Path, default=None)
    parser.add_argument("--builtin-imagery", action="store_true", help="scikit-image photos only (tests)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:  # every config and path is checked before the first run starts; a problem is one line, exit code 2
        names = list(load_config(args.config).data.sources)
        mixes = [m.split(",") for m in args.mix] if args.mix else [names[: i + 1] for i in range(len(names))]
        configs = {"+".join(mix): mix_config(args.config, mix, args.frozen) for mix in mixes}
    except AutomatchError as exc:
        parser.error(str(exc))
    for path in (args.bench, args.real):
        if path is not None and not path.is_dir():
            parser.error(f"{path}: no such benchmark folder")
    imagery = Imagery.builtin(cutouts=24) if args.builtin_imagery else Imagery.load(args.imagery)
    work = args.work.absolute()
    models = []
    for name, config in configs.items():
        model = train(config, work / "runs" / name, max_steps=args.max_steps, imagery=imagery,
                      progress=not args.quiet)
        models += ["--model", f"{name}={model}"]
    compare = ["--work", str(work), *models]
    if args.bench:
        compare += ["--bench", str(args.bench)]
    else:
        compare += ["--sequences", str(args.sequences), "--frames", str(args.frames), "--seed", str(args.seed)]
        if args.builtin_imagery:
            compare.append("--builtin-imagery")
        elif args.imagery:
            compare += ["--imagery", str(args.imagery)]
    if args.real:
        compare += ["--real", str(args.real)]
    return model_compare.main(compare + (["--quiet"] if args.quiet else []))


if __name__ == "__main__":
    main()
