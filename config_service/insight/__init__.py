"""Insight into configs without changing them: explain (provenance, DESIGN §7)."""
