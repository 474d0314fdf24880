"""``automatch info``: what a config's network is made of, with parameters and FLOPs per part."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="parameters and FLOPs of a config's network",
        description="Print the network of a config (backbone, operators per branch, score-map geometry) with "
        "its parameters and FLOPs per part (XLA's count, a multiply-add is 2 FLOPs).",
    )
    parser.add_argument("--config", required=True, metavar="CONFIG", help="configs/<name>.py[:arg]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from automatch_jax.models.config import build_network
    from automatch_jax.models.summary import format_costs, network_costs
    from automatch_jax.train.config import load_config

    config = load_config(args.config)
    net = build_network(config.model)
    g = net.geometry
    print(f"config     {config.get('name', args.config)}")
    print(f"backbone   {net.backbone}")
    print(f"cls ops    {', '.join(net.cls_operators)}")
    print(f"reg ops    {', '.join(net.reg_operators)}")
    print(
        f"crops      exemplar {g.exemplar_size} (window {g.exemplar_cells}x{g.exemplar_cells} cells), "
        f"search {g.search_size} -> score map {g.score_size}x{g.score_size}, stride {g.stride}, offset {g.offset:g}"
    )
    print()
    print(format_costs(network_costs(net)))
    return 0
