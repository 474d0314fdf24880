"""automatch_jax: the AutoMatch tracker (ICCV 2021) on the Ocean baseline, in JAX/Flax.

Subpackages, one per concern:
  ops       matching operators (one registry)
  models    backbones, neck, heads, the tracker network
  search    Binary Channel Manipulation and bilevel optimisation
  data      dataset readers (benchmarks and training sets), pair sampling, synthesis
  train     training loop
  tracking  the online tracker
  eval      metrics, benchmark protocols, reports
  cli       the ``automatch`` command
"""

from automatch_jax.errors import AutomatchError

__version__ = "0.1.0"
__all__ = ["AutomatchError", "MultiTracker", "Tracker", "__version__"]


def __getattr__(name: str):
    # Imported lazily so that `import automatch_jax` (and `automatch eval`) does not pay for importing JAX.
    if name in ("Tracker", "MultiTracker"):
        from automatch_jax import tracking

        return getattr(tracking, name)
    raise AttributeError(f"module 'automatch_jax' has no attribute {name!r}")
