"""Crops: the window's coordinate maps, OpenCV's crop, and the device crop (``crop_jax``) against it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.data.crop import CropWindow, context_side, crop, crop_jax


def test_crop_window_round_trip_and_pixels() -> None:
    ramp = np.tile(np.arange(200, dtype=np.float32)[None, :, None], (100, 1, 3))
    window = CropWindow(50.5, 40.5, 11, 11)  # centred on pixel 50, one frame pixel per crop pixel
    np.testing.assert_allclose(crop(ramp, window)[5, :, 0], np.arange(45, 56))
    big = CropWindow(100.0, 50.0, 64.0, 255)
    points = np.array([10.0, 20.0, 150.0, 90.0])
    np.testing.assert_allclose(big.to_frame(big.to_crop(points)), points)
    assert big.to_crop(np.array([100.0, 50.0])).tolist() == [127.0, 127.0]
    assert context_side(10, 30) == pytest.approx(np.sqrt(30 * 50))
    np.testing.assert_allclose(context_side(np.array([10.0, 4.0]), np.array([30.0, 4.0])), [np.sqrt(1500), 8.0])
    np.testing.assert_allclose(context_side(jnp.array(10.0), jnp.array(30.0), xp=jnp), np.sqrt(1500), rtol=1e-6)


def test_crop_keeps_the_frame_type_when_asked() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (40, 50, 3)).astype(np.uint8)
    window = CropWindow(20.3, 18.9, 31.0, 23)
    raw = crop(frame, window, dtype=None)
    assert raw.dtype == np.uint8
    np.testing.assert_array_equal(raw.astype(np.float32), crop(frame, window))


@pytest.mark.parametrize("window", [CropWindow(100.3, 80.7, 150.2, 63), CropWindow(5.0, 3.0, 300.0, 31),
                                    CropWindow(318.0, 238.0, 40.0, 47), CropWindow(160.0, 120.0, 900.0, 15)],
                         ids=["inside", "over-the-corner", "small", "frame-inside-crop"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_device_crop_equals_opencv(window: CropWindow, dtype: type) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3)).astype(dtype)
    fill = np.array([10.0, 200.0, 90.0])
    expected = crop(frame, window, fill)
    got = np.asarray(crop_jax(frame, np.array([window.cx, window.cy, window.side]), window.out, fill))
    assert got.shape == expected.shape == (window.out, window.out, 3)
    # OpenCV samples at 1/32 pixel and rounds uint8 results; the exact bilinear value stays within a grey level
    np.testing.assert_allclose(got, expected, atol=1.0 if dtype == np.uint8 else 0.2)
    assert np.abs(got - expected).mean() < 0.3


def test_device_crop_picks_one_of_several_frames_and_batches() -> None:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 60, 80, 3)).astype(np.uint8)
    windows = np.array([[30.0, 20.0, 50.0], [70.0, 55.0, 20.0], [10.0, 10.0, 90.0]], np.float32)
    fills = rng.uniform(0, 255, (3, 3)).astype(np.float32)
    index = np.array([2, 0, 2], np.int32)
    batched = jax.vmap(lambda w, c, k: crop_jax(frames, w, 21, c, k))(windows, fills, index)
    for n in range(3):
        single = crop_jax(frames[index[n]], windows[n], 21, fills[n])
        np.testing.assert_array_equal(batched[n], single)


def test_device_crop_gathers_only_the_taps_it_needs() -> None:
    """No intermediate as wide as the frame: the crop reads 4 x out x out values, not whole rows."""
    frame = jax.ShapeDtypeStruct((50, 1000, 3), jnp.uint8)
    jaxpr = jax.make_jaxpr(lambda f, w: crop_jax(f, w, 31, jnp.zeros(3)))(frame, jnp.array([500.0, 25.0, 40.0]))
    shapes = [v.aval.shape for eqn in jaxpr.jaxpr.eqns for v in eqn.outvars]
    assert shapes and all(1000 not in shape and 50 not in shape for shape in shapes)
