"""Insight into configs without changing them: explain (provenance) and blast-radius preview (DESIGN §7)."""
