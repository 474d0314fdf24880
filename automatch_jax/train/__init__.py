"""Training: optimiser and schedules, the data-parallel train step, the resumable loop."""
