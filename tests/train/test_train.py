"""Training: the optimiser's phases, data parallelism on two fake devices, exact resume, the final checkpoint."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from automatch_jax.data.imagery import Imagery
from automatch_jax.tracking import Tracker, load_checkpoint
from automatch_jax.train.config import load_config
from automatch_jax.train.loop import train
from automatch_jax.train.optim import learning_rate, make_optimizer

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.py"


def test_schedule_warms_up_then_decays_to_the_final_rate() -> None:
    cfg = load_config(SMOKE).train
    schedule = learning_rate(cfg, 100)
    assert float(schedule(0)) == pytest.approx(cfg.warmup_lr)
    assert float(schedule(cfg.warmup_steps)) == pytest.approx(cfg.lr)
    assert float(schedule(100)) == pytest.approx(cfg.final_lr, rel=1e-4)
    rates = [float(schedule(s)) for s in range(cfg.warmup_steps, 100)]
    assert all(a >= b for a, b in itertools.pairwise(rates))


def test_backbone_is_frozen_until_the_unfreeze_step() -> None:
    cfg = load_config(SMOKE).train
    params = {"trunk": {"w": jnp.ones(3)}, "cls_head": {"w": jnp.ones(3)}}
    tx = make_optimizer(cfg, 100)
    state = tx.init(params)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    for step in range(cfg.unfreeze_step + 2):
        updates, state = tx.update(grads, state, params)
        if step < cfg.unfreeze_step:
            assert float(jnp.abs(updates["trunk"]["w"]).sum()) == 0.0
            assert float(jnp.abs(updates["cls_head"]["w"]).sum()) > 0.0
    assert float(jnp.abs(updates["trunk"]["w"]).sum()) > 0.0
    assert isinstance(tx, optax.GradientTransformation)


@pytest.fixture(scope="module")
def imagery() -> Imagery:
    return Imagery.builtin(cutouts=12)


def _params(model_dir: Path) -> list[np.ndarray]:
    return jax.tree_util.tree_leaves(load_checkpoint(model_dir).variables)


def test_killed_run_resumes_exactly(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.train.update(steps=12, checkpoint_every=6, log_every=6, eval_every=6)
    straight = train(config, tmp_path / "straight", imagery=imagery, progress=False)
    train(config, tmp_path / "resumed", max_steps=6, imagery=imagery, progress=False)  # "killed" at step 6
    resumed = train(config, tmp_path / "resumed", imagery=imagery, progress=False)
    for a, b in zip(_params(straight), _params(resumed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    log = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [6, 12]
    assert (tmp_path / "resumed" / "tensorboard").is_dir()
    checkpoint = load_checkpoint(resumed)
    assert checkpoint.info["steps"] == 12 and checkpoint.model["backbone"] == "tiny"
    tracker = Tracker.from_checkpoint(checkpoint)  # the final checkpoint is what the tracker loads
    frame = np.full((120, 160, 3), 100, np.uint8)
    tracker.init(frame, (60, 40, 30, 30))
    tracker.update(frame)


TWO_DEVICES = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    from automatch_jax.models.config import build_network
    from automatch_jax.train.config import load_config
    from automatch_jax.data.imagery import Imagery
    from automatch_jax.data.pairs import PairConfig, PairLoader
    from automatch_jax.train.loop import shard_batch, init_variables, train
    from automatch_jax.train.optim import make_optimizer
    from automatch_jax.train.step import AXIS, TrainState, make_train_step

    assert jax.local_device_count() == 2, jax.devices()
    config = load_config(sys.argv[1])
    imagery = Imagery.builtin(cutouts=12)
    net = build_network(config.model)
    tx = make_optimizer(config.train, config.train.steps)
    v = init_variables(net, config, 0)
    state = TrainState(np.zeros((), np.int32), v["params"], v["batch_stats"], tx.init(v["params"]))
    state = jax.tree_util.tree_map(lambda a: np.broadcast_to(np.asarray(a), (2, *np.shape(a))), state)
    step = jax.pmap(make_train_step(net, tx, dict(config.loss)), axis_name=AXIS)
    g = net.geometry
    loader = PairLoader(imagery, PairConfig(exemplar_size=g.exemplar_size, search_size=g.search_size), 8, 0)
    for k in range(3):
        state, metrics = step(state, shard_batch(loader.batch(k), 2))
    same = all(np.array_equal(a[0], a[1]) for a in jax.tree_util.tree_leaves((state.params, state.batch_stats)))
    train(config, sys.argv[2], imagery=imagery, progress=False)
    print(json.dumps({"replicas_identical": bool(same)}))
    """
)


def test_data_parallel_training_on_two_fake_devices(tmp_path: Path) -> None:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-c", TWO_DEVICES, str(SMOKE), str(out)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["replicas_identical"]
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    first, last = log[0], log[-1]
    assert last["loss"] < first["loss"], (first, last)
    assert last["val_loss"] < log[[e.get("val_loss") is not None for e in log].index(True)]["val_loss"] * 1.5


def test_bfloat16_compute_trains_and_saves_float32_weights(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.train.update(steps=4, log_every=2, eval_every=4, checkpoint_every=4, dtype="bfloat16")
    model = train(config, tmp_path / "bf16", imagery=imagery, progress=False)
    log = [json.loads(line) for line in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(entry["loss"]) for entry in log)
    checkpoint = load_checkpoint(model)
    assert checkpoint.info["dtype"] == "bfloat16"
    assert all(leaf.dtype == np.float32 for leaf in jax.tree_util.tree_leaves(checkpoint.variables["params"]))
    from automatch_jax.train.loop import compute_dtype

    assert compute_dtype("auto") == jnp.float32  # CPU
    with pytest.raises(Exception, match="not a dtype"):
        compute_dtype("bfloat17")
