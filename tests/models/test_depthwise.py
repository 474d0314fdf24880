"""The CPU depthwise convolution (sum of shifted products) equals XLA's grouped convolution, with the same
parameters, so checkpoints are interchangeable between the two paths."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.models.efficientnet_lite import EfficientNetLite, same_padding
from automatch_jax.ops.depthwise import depthwise_shift_sum


@pytest.mark.parametrize("size,kernel,stride,dilation", [(32, 3, 1, 1), (31, 5, 2, 1), (32, 5, 1, 2), (17, 3, 2, 1)])
def test_shift_sum_equals_grouped_convolution(size: int, kernel: int, stride: int, dilation: int) -> None:
    x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size, 12))
    w = jax.random.normal(jax.random.PRNGKey(1), (kernel, kernel, 1, 12))
    pads = [same_padding(size, kernel, stride, dilation)] * 2
    reference = jax.lax.conv_general_dilated(x, w, (stride, stride), pads, rhs_dilation=(dilation, dilation),
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=12)
    np.testing.assert_allclose(depthwise_shift_sum(x, w, stride, dilation, pads), reference, atol=1e-5, rtol=1e-5)
    grads = jax.grad(lambda w: jnp.sum(depthwise_shift_sum(x, w, stride, dilation, pads) ** 2))(w)
    assert np.isfinite(np.asarray(grads)).all()


def test_both_paths_share_parameters_and_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    net = EfficientNetLite("lite0", stride8=True)
    images = jax.random.uniform(jax.random.PRNGKey(2), (1, 63, 63, 3), maxval=255.0)
    outputs, trees = {}, {}
    for impl in ("conv", "shift"):
        monkeypatch.setenv("AUTOMATCH_DEPTHWISE", impl)
        variables = net.init(jax.random.PRNGKey(0), images)
        trees[impl] = jax.tree_util.tree_map(jnp.shape, variables)
        outputs[impl] = net.apply(variables, images)
    assert trees["conv"] == trees["shift"]
    np.testing.assert_allclose(outputs["shift"], outputs["conv"], atol=1e-4, rtol=1e-4)
