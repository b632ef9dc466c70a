"""The typed integration catalog, validation of integration writes, and integration health (DESIGN §8)."""
