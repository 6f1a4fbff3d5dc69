"""Helpers shared by tests and benchmarks (synthetic data generators)."""
