"""Matching-network search: Binary Channel Manipulation and its bilevel optimisation."""
