"""The search's own checks are the config validation's: ``search.keep`` against the space (one function,
:func:`~automatch_jax.train.config.check_keep`, for :func:`validate_config` and :func:`search_network`) and
``search.order`` (validation alone, before :func:`~automatch_jax.search.run.search` does any work)."""

from __future__ import annotations

from pathlib import Path

import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.search.bilevel import ORDERS
from automatch_jax.search.model import search_network
from automatch_jax.search.run import search
from automatch_jax.train.config import check_keep, load_config
from tests.train.test_config_schema import refusal
from tests.train.test_train import SMOKE


def test_keep_is_one_check_for_validation_and_the_search_network() -> None:
    config = load_config(SMOKE)
    config.search.space = ("film", "add", "concat")
    config.search.keep = 4
    validated = refusal(config, "search")
    with pytest.raises(AutomatchError) as built:  # search_network is also reached without validate_config
        search_network(config)
    with pytest.raises(AutomatchError) as checked:
        check_keep(4, ("film", "add", "concat"))
    assert validated == str(built.value) == str(checked.value) == "search.keep 4 exceeds the 3 operators of " \
                                                                  "search.space"
    check_keep(3, ("film", "add", "concat"))


def test_an_unknown_order_stops_the_search_at_validation(tmp_path: Path) -> None:
    config = load_config(SMOKE)
    config.search.order = "third"
    with pytest.raises(AutomatchError, match="search.order = 'third': expected one of " +
                       ", ".join(map(repr, ORDERS))):
        search(config, tmp_path / "arch.json", max_steps=1, progress=False)
    assert not any(tmp_path.iterdir())  # refused before any work
