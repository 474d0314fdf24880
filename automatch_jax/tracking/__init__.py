"""The online tracker: :class:`Tracker` (``init(frame, box)``, ``update(frame)``), :class:`MultiTracker` (many
targets per step), both faces of one core (:mod:`automatch_jax.tracking.core`); checkpoints, frame sources."""

from automatch_jax.models.checkpoint import TrackerCheckpoint, load_checkpoint, save_checkpoint
from automatch_jax.models.settings import TrackerSettings
from automatch_jax.tracking.multi import MultiTracker
from automatch_jax.tracking.network import Network
from automatch_jax.tracking.tracker import Tracker

__all__ = ["MultiTracker", "Network", "Tracker", "TrackerCheckpoint", "TrackerSettings", "load_checkpoint",
           "save_checkpoint"]
