"""The operator forms of the paper's prose, used only by :class:`~automatch_jax.models.tracker_net.TrackerNet`
(``model.arch = "ocean"``, the default when ``arch`` is absent): the network of the Ocean-head comparison
(``configs/ocean_lite.py``), of the Table 1 operator study (``configs/table1.py``), of
``configs/automatch_lite_fast.py`` and of the checkpoints whose ``model.arch`` is ``"ocean"`` or absent.

Signature ``op(F_z, F_x, M_z) -> R``: the 7x7 centre-cropped exemplar map (B, Hz, Wz, C), the search map
(B, Hx, Wx, C), the cell mask (B, Hz, Wz); R (B, Hx, Wx, features). f_z is F_z averaged inside M_z. They have their
own registry, :data:`LEGACY_OPERATORS` (the operator registry ``OPERATORS`` holds the authors' forms under the same
names, :mod:`automatch_jax.ops`), filled in the paper's order, which is
:data:`automatch_jax.ops.OPERATOR_NAMES`; :func:`get_legacy_operator` builds one by name, ``dw_xcorr`` being the
sliding :class:`~automatch_jax.ops.xcorr.DepthwiseXCorr`.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.ops.common import Projection, flatten, masked_average
from automatch_jax.ops.xcorr import DepthwiseXCorr
from automatch_jax.registry import Registry

LEGACY_OPERATORS: Registry[type[nn.Module]] = Registry("matching operator")
"""TrackerNet's operator forms by name, in the paper's order (registration order)."""
LEGACY_OPERATORS.register("dw_xcorr", DepthwiseXCorr)


@LEGACY_OPERATORS.register("concat")
class LegacyConcatenation(nn.Module):
    """R = Conv1x1([f_z broadcast to Hx x Wx, F_x]): 2C -> features."""

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        pooled = jnp.broadcast_to(masked_average(f_z, z_mask), f_x.shape)
        return nn.Conv(self.features or f_x.shape[-1], (1, 1), name="fuse")(
            jnp.concatenate([pooled, f_x], -1)
        )


@LEGACY_OPERATORS.register("add")
class LegacyPointwiseAddition(nn.Module):
    """R = f_z + F_x; parameter-free when ``features`` equals C (a 1x1 projection otherwise)."""

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        return Projection(self.features or f_x.shape[-1])(masked_average(f_z, z_mask) + f_x)


@LEGACY_OPERATORS.register("pairwise")
class LegacyPairwiseRelation(nn.Module):
    """R = Conv1x1(reshape(S(F_x) S(F_z)^T)): raw C-dimensional dot products of every search cell with every
    exemplar cell (HzWz channels), projected by a 1x1 convolution to ``features``."""

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        relation = jnp.einsum("bxc,bzc->bxz", flatten(f_x), flatten(f_z)).reshape(b, hx, wx, -1)
        return nn.Conv(self.features or c, (1, 1), name="proj")(relation)


@LEGACY_OPERATORS.register("film")
class LegacyFiLM(nn.Module):
    """gamma = 1 + Conv1x1(f_z), beta = Conv1x1(f_z); R = gamma * F_x + beta (no embedding, no activation)."""

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        c = f_x.shape[-1]
        pooled = masked_average(f_z, z_mask)
        gamma = 1.0 + nn.Conv(c, (1, 1), name="gamma")(pooled)
        beta = nn.Conv(c, (1, 1), name="beta")(pooled)
        return Projection(self.features or c)(gamma * f_x + beta)


@LEGACY_OPERATORS.register("transformer")
class LegacySimpleTransformer(nn.Module):
    """R = MultiHeadAttention(F_x, F_z, F_z) with the attention's own projections, ``num_heads`` (8) heads."""

    features: int | None = None
    num_heads: int = 8

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        features = self.features or c
        if features % self.num_heads:
            raise ValueError(f"transformer: features={features} is not divisible by num_heads={self.num_heads}")
        attention = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads, qkv_features=features, out_features=features, name="attention"
        )
        return attention(flatten(f_x), flatten(f_z), flatten(f_z)).reshape(b, hx, wx, features)


@LEGACY_OPERATORS.register("transductive")
class LegacyTransductiveGuidance(nn.Module):
    """R = G + F_x, G = softmax_z(S(F_x) S(F_z)^T / sqrt(C)) S(M_z) on the raw features."""

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        affinity = jnp.einsum("bxc,bzc->bxz", flatten(f_x), flatten(f_z)) / jnp.sqrt(jnp.float32(c))
        weights = jax.nn.softmax(affinity, axis=-1)
        guidance = jnp.einsum("bxz,bz->bx", weights, z_mask.reshape(b, -1).astype(weights.dtype))
        return Projection(self.features or c)(guidance.reshape(b, hx, wx, 1) + f_x)


def get_legacy_operator(operator: str, **kwargs) -> nn.Module:
    """A new instance of the legacy form ``operator``; ``kwargs`` (``features``, ``name`` ...) go to its constructor.
    An unknown name is an :class:`~automatch_jax.registry.UnknownNameError` (a ``ValueError``) listing the known
    ones."""
    return LEGACY_OPERATORS.build(operator, **kwargs)
