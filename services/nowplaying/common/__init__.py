"""Shared library: settings, record contracts, lake, Cassandra, logging, metrics."""
