"""Config Service: hierarchical, multi-tenant configuration for AI agent platforms."""

__version__ = "0.1.0"
