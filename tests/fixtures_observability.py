"""Fixtures for the observability tests."""
