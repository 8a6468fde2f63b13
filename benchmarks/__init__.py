"""Benchmarks of the offline plan: `make bench` (``python -m benchmarks``) writes docs/benchmarks.md."""
