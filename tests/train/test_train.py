"""Training: the optimiser's phases, data parallelism on two fake devices, exact resume (log lines included), the
final checkpoint and its dtype, and runs that are refused before any work."""

from __future__ import annotations

import itertools
import json
import os
import shutil
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
from automatch_jax.errors import AutomatchError
from automatch_jax.models.config import build_network
from automatch_jax.tracking import Tracker, load_checkpoint
from automatch_jax.train.config import load_config
from automatch_jax.train.loop import train
from automatch_jax.train.optim import learning_rate, make_optimizer
from automatch_jax.train.runner import init_variables

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


def _logged_steps(out: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_killed_run_resumes_exactly_and_logs_every_step_once(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.train.update(steps=8, checkpoint_every=4, log_every=2, eval_every=4, workers=0)
    straight = train(config, tmp_path / "straight", imagery=imagery, progress=False)
    train(config, tmp_path / "resumed", max_steps=6, imagery=imagery, progress=False)
    # killed while writing the checkpoint of step 6: steps 5 and 6 are logged but only step 4 is saved
    shutil.rmtree(tmp_path / "resumed" / "checkpoints" / "6")
    resumed = train(config, tmp_path / "resumed", imagery=imagery, progress=False)
    for a, b in zip(_params(straight), _params(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    assert _logged_steps(tmp_path / "resumed") == [2, 4, 6, 8]
    assert (tmp_path / "resumed" / "tensorboard").is_dir()
    checkpoint = load_checkpoint(resumed)
    assert checkpoint.info["steps"] == 8 and checkpoint.model["backbone"] == "tiny"
    tracker = Tracker.from_checkpoint(checkpoint)  # the final checkpoint is what the tracker loads
    frame = np.full((120, 160, 3), 100, np.uint8)
    tracker.init(frame, (60, 40, 30, 30))
    tracker.update(frame)


def test_runs_without_steps_and_folders_of_another_model_are_refused(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.train.update(steps=2, checkpoint_every=2, log_every=2, eval_every=2, workers=0)
    for bad in (0, -3):
        with pytest.raises(AutomatchError, match=f"--max-steps {bad}: a run needs at least 1 step"):
            train(config, tmp_path / "none", max_steps=bad, imagery=imagery, progress=False)
    assert not (tmp_path / "none").exists()
    train(config, tmp_path / "run", imagery=imagery, progress=False)
    other = load_config(SMOKE)
    other.train.update(steps=4, workers=0)
    other.model.channels = 8
    with pytest.raises(AutomatchError, match="holds checkpoints of a different model") as caught:
        train(other, tmp_path / "run", imagery=imagery, progress=False)
    assert "\n" not in str(caught.value) and "in the checkpoint" in str(caught.value)


def test_a_run_starts_from_a_checkpoints_weights_and_counts_its_pairs(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.train.update(steps=2, checkpoint_every=2, log_every=2, eval_every=2, workers=0)
    first = train(config, tmp_path / "first", imagery=imagery, progress=False)
    config.init_from = str(first)
    config.train.seed = 1  # another seed's random weights must not show through
    net = build_network(config.model)
    start = init_variables(net, config, config.train.seed)
    fresh = init_variables(net, load_config(SMOKE), config.train.seed)
    for a, b in zip(_params(first), jax.tree_util.tree_leaves(start), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(_params(first), jax.tree_util.tree_leaves(fresh), strict=True))
    other = load_config(SMOKE)
    other.init_from, other.model.channels = str(first), 8  # init_variables is also reached without validate_config
    with pytest.raises(AutomatchError, match=r"its weights do not fit this config's network \(batch_stats/neck/bn/"
                       r"mean: \(16,\) in the checkpoint, \(8,\) here\)"):
        init_variables(build_network(other.model), other, 0)
    second = load_checkpoint(train(config, tmp_path / "second", imagery=imagery, progress=False))
    assert load_checkpoint(first).info["pairs"] == 16
    assert second.info["pairs"] == 32 and second.info["init_from"] == {"checkpoint": str(first), "pairs": 16}


TWO_DEVICES = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    from automatch_jax.models.config import build_network
    from automatch_jax.train.config import load_config
    from automatch_jax.data.imagery import Imagery
    from automatch_jax.data.pairs import PairConfig, PairLoader
    from automatch_jax.train.loop import train
    from automatch_jax.train.optim import make_optimizer
    from automatch_jax.train.runner import init_variables, replicate, to_devices
    from automatch_jax.train.step import AXIS, TrainState, make_train_step

    assert jax.local_device_count() == 2, jax.devices()
    config = load_config(sys.argv[1])
    config.train.update(workers=0, steps=30, unfreeze_step=15, eval_every=10, checkpoint_every=10)  # half of smoke's
    imagery = Imagery.builtin(cutouts=12)
    net = build_network(config.model)
    tx = make_optimizer(config.train, config.train.steps)
    v = init_variables(net, config, 0)
    state = replicate(TrainState(np.zeros((), np.int32), v["params"], v["batch_stats"], tx.init(v["params"])))
    step = jax.pmap(make_train_step(net, tx, dict(config.loss)), axis_name=AXIS)
    g = net.geometry
    loader = PairLoader(imagery, PairConfig(exemplar_size=g.exemplar_size, search_size=g.search_size), 8, 0, 0)
    for k, batch in loader.iterate(0, 3):
        state, metrics = step(state, to_devices(batch))
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
    assert load_checkpoint(out / "model").info["devices"] == 2


def test_bfloat16_compute_trains_and_the_checkpoint_says_so_once(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.train.update(steps=4, log_every=2, eval_every=4, checkpoint_every=4, dtype="bfloat16", workers=0)
    model = train(config, tmp_path / "bf16", imagery=imagery, progress=False)
    log = [json.loads(line) for line in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(entry["loss"]) for entry in log)
    checkpoint = load_checkpoint(model)
    # the weights are float32; the compute dtype they were trained with is the model's dtype, and only that
    assert checkpoint.model["dtype"] == "bfloat16" and "dtype" not in checkpoint.info
    assert all(leaf.dtype == np.float32 for leaf in jax.tree_util.tree_leaves(checkpoint.variables["params"]))
    Tracker.from_checkpoint(checkpoint)  # loads as a bfloat16 tracker
    from automatch_jax.models.config import named_dtype

    assert named_dtype("auto", auto=True) == jnp.float32  # CPU
    with pytest.raises(AutomatchError, match="train.dtype 'bfloat17' is not one of auto, float32"):
        named_dtype("bfloat17", "train.dtype", auto=True)
    with pytest.raises(AutomatchError, match="model.dtype 'auto' is not one of float32, bfloat16, float16$"):
        named_dtype("auto", "model.dtype")


def test_batches_travel_as_uint8_and_train_as_the_same_crops_in_float(imagery: Imagery) -> None:
    """The pair pipeline's crops reach the devices as uint8 (a quarter of float32's bytes); the loss casts them on
    the device, so it is the loss of the same crops sent as float32."""
    from automatch_jax.data.pairs import PairConfig, PairLoader
    from automatch_jax.models.losses import pair_loss
    from automatch_jax.train.runner import to_devices

    config = load_config(str(SMOKE))
    net = build_network(config.model)
    g = net.geometry
    batch = PairLoader(imagery, PairConfig(exemplar_size=g.exemplar_size, search_size=g.search_size), 2, 0, 0).batch(0)
    assert batch["z"].dtype == np.uint8 and batch["x"].dtype == np.uint8
    sent = to_devices(batch)
    assert sent["z"].dtype == jnp.uint8 and sent["x"].dtype == jnp.uint8
    variables = init_variables(net, config, 0)
    as_float = {k: v.astype(np.float32) if k in ("z", "x") else v for k, v in batch.items()}
    loss_cfg = dict(config.loss)
    sent_loss = pair_loss(net, variables, {k: v[0] for k, v in sent.items()}, loss_cfg, train=False)[0]
    float_loss = pair_loss(net, variables, as_float, loss_cfg, train=False)[0]
    assert np.isfinite(float_loss) and float(sent_loss) == float(float_loss)
