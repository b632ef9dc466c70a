"""The benchmark of the service (`make bench`); see docs/PERFORMANCE.md."""
