"""Fixtures for the sandbox: the offline X, Spotify, ReccoBeats, Mastodon and Bluesky APIs.

``sandbox``: a real sandbox HTTP server on a free loopback port (one per test session, seed 42,
500 posts at start, no live posts: ``sandbox.publish(n)`` adds posts on demand), reset before each
test: faults cleared, statistics, served ids, tokens and rate windows cleared, config back to the
start, the corpus restarted from the seed. Use ``sandbox.urls`` (``X_API_BASE``, ``SPOTIFY_API_BASE``,
...) or ``sandbox.base_url``; ``sandbox.set_faults("spotify:429:n1")``, ``sandbox.configure(dev_mode=False)``,
``sandbox.stats()``, ``sandbox.posts()``, ``sandbox.served("x")`` drive and inspect it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

SANDBOX_TEST_SEED = 42
SANDBOX_TEST_INITIAL_POSTS = 500


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from nowplaying.sandbox.server import start_sandbox
    from nowplaying.sandbox.state import SandboxConfig

    config = SandboxConfig(seed=SANDBOX_TEST_SEED, posts_per_minute=0.0, initial_posts=SANDBOX_TEST_INITIAL_POSTS)
    running = start_sandbox(config)
    yield running
    running.stop()


@pytest.fixture
def sandbox(sandbox_server: Any) -> Any:
    """The session's sandbox, reset to its starting state (corpus included) for this test."""
    sandbox_server.reset(corpus=True)
    return sandbox_server
