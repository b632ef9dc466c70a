"""Per-org data keys wrapped by the master key; envelope encryption of secret leaves (DESIGN §8)."""
