"""Backbones, neck, heads, score-map geometry and losses, and the tracker network."""
