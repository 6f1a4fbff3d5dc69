"""Fixtures for the pipeline tests."""
