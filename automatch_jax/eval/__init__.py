"""Evaluation: metrics, per-benchmark protocols, results I/O, reports and plots (plain numpy)."""
