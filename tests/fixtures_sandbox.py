"""Fixtures for the sandbox tests."""
