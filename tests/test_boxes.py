"""Box-format conversions: known values, round trips, batch shapes, numpy and JAX inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax import boxes

XYWH = np.array([10.0, 20.0, 30.0, 8.0])
XYXY = np.array([10.0, 20.0, 40.0, 28.0])
CXCYWH = np.array([25.0, 24.0, 30.0, 8.0])
FORMATS = {"xywh": XYWH, "xyxy": XYXY, "cxcywh": CXCYWH}
PAIRS = [(a, b) for a in FORMATS for b in FORMATS if a != b]


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_known_box_in_every_format(source: str, target: str) -> None:
    convert = getattr(boxes, f"{source}_to_{target}")
    out = convert(FORMATS[source].tolist())  # a list in, float64 numpy out
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, FORMATS[target])


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_round_trips_on_batches_and_under_jit(source: str, target: str) -> None:
    forward = getattr(boxes, f"{source}_to_{target}")
    backward = getattr(boxes, f"{target}_to_{source}")
    batch = np.random.default_rng(0).uniform(1, 50, (3, 2, 4))
    np.testing.assert_allclose(backward(forward(batch)), batch, rtol=1e-12)
    on_device = jax.jit(forward)(jnp.asarray(batch, jnp.float32))
    assert isinstance(on_device, jax.Array) and on_device.dtype == jnp.float32 and on_device.shape == (3, 2, 4)
    np.testing.assert_allclose(on_device, forward(batch), rtol=1e-6)


def test_wrong_last_axis_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"4 numbers on its last axis, not shape \(2, 3\)"):
        boxes.xywh_to_xyxy(np.zeros((2, 3)))


def test_iou_of_xywh_boxes_broadcasts() -> None:
    a = np.array([0, 0, 10, 10])
    assert boxes.iou_xywh(a, a) == pytest.approx(1)
    assert boxes.iou_xywh(a, [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert boxes.iou_xywh(a, [20, 20, 5, 5]) == 0
    assert boxes.iou_xywh([0, 0, 0, 0], [0, 0, 0, 0]) == 0  # empty union: 0, not NaN
    np.testing.assert_allclose(boxes.iou_xywh(a, np.array([[0, 0, 10, 10], [0, 0, 10, 5]])), [1.0, 0.5])
