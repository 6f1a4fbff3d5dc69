"""Fixtures of the matching tests (enrich candidates, explain and correct a match, re-check).

``session``: a Cassandra session on the test module's own ``settings`` fixture (each of those modules
points its settings at its own sandbox), closed after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nowplaying.common.config import Settings


@pytest.fixture
def session(settings: Settings) -> Iterator[Any]:
    from nowplaying.common.cassandra import connect, shutdown

    s = connect(settings)
    yield s
    shutdown(s)
