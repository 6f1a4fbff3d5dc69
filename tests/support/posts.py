"""Post records for the cleaner's tests: a valid Post with the given text and any field overridden."""

from __future__ import annotations

from typing import Any

from nowplaying.common.models import Post


def make_post(text: str, **fields: Any) -> Post:
    record: dict[str, Any] = {
        "source": "x",
        "post_id": "1",
        "created_at": "2026-03-01T10:00:00Z",
        "author_id": "42",
        "author_name": None,
        "lang": None,
        "text": text,
    }
    record.update(fields)
    return Post.from_dict(record)
