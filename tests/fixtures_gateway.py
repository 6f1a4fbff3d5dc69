"""Fixtures for the gateway tests."""
