"""The checkpoint of a newest-first source, as a pure state machine.

X recent search, Mastodon's tag timeline and Bluesky's searchPosts all answer newest first and page
towards older posts. A run walks from the newest post down to the checkpoint (``lower``, exclusive).
When a run stops before reaching it (a long rate limit, the X budget, the page cap), the posts it
fetched are written and the window remembers the gap: the next run walks down from ``upper`` (the
oldest post fetched, exclusive) to the same ``lower``, and only when that gap is closed does
``lower`` move up to ``newest``, the newest post of the interrupted walk. So no post is skipped and
none is fetched twice.

Positions are strings that sort with ``position_key`` (ids as numbers, timestamps as text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def position_key(position: str) -> tuple[int, str]:
    """Numeric ids compare as numbers (X and Mastodon ids grow), anything else as text."""
    if position.isdigit():
        return (len(position), position)
    return (0, position)


def newer(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if position_key(a) >= position_key(b) else b


@dataclass
class Window:
    lower: str | None = None  # everything at or below this was fetched (exclusive bound of the walk)
    upper: str | None = None  # a gap is open: walk below this (exclusive) down to ``lower``
    newest: str | None = None  # the newest position of the unfinished walk
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific (e.g. boundary ids)

    @classmethod
    def from_dict(cls, obj: dict[str, Any] | None) -> Window:
        obj = obj or {}
        return cls(obj.get("lower"), obj.get("upper"), obj.get("newest"), dict(obj.get("extra") or {}))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lower": self.lower, "upper": self.upper, "newest": self.newest}
        if self.extra:
            out["extra"] = self.extra
        return out


@dataclass
class Walk:
    """What one run saw while walking down from ``window.upper`` (or the top) towards ``window.lower``."""

    newest: str | None = None
    oldest: str | None = None
    reached_lower: bool = False  # the source said there is nothing more (or the lower bound was reached)

    def saw(self, newest_on_page: str | None, oldest_on_page: str | None) -> None:
        if newest_on_page is not None and self.newest is None:
            self.newest = newest_on_page  # the first page holds the newest post
        if oldest_on_page is not None:
            self.oldest = oldest_on_page


def advance(window: Window, walk: Walk) -> Window:
    """The window after a run: closed when the walk reached ``lower``, else with the gap remembered."""
    newest_overall = newer(window.newest, walk.newest) if window.upper is not None else walk.newest
    if walk.reached_lower:
        return Window(lower=newer(window.lower, newest_overall), extra=dict(window.extra))
    if walk.oldest is None:  # stopped before any post: nothing changes
        return Window(window.lower, window.upper, window.newest, dict(window.extra))
    return Window(lower=window.lower, upper=walk.oldest, newest=newest_overall, extra=dict(window.extra))
