"""Paging cursors: the position of a plays query, HMAC-SHA256 signed and bound to the query's filters.

A cursor is ``<payload>.<signature>``, both base64url without padding. The payload is compact JSON:

    {"v": 1, "q": <filter digest>, "s": <window start ms>, "e": <window end ms>,
     "b": <bucket index>, "p": <driver paging state, base64> | null, "k": [played_at ms, source, post_id] | null}

The driver's paging state can be forged to read other partitions, so it never leaves unsigned, and a
signed cursor is only accepted together with the filters it was issued for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import orjson

VERSION = 1
MAX_CURSOR_CHARS = 4096


class CursorError(ValueError):
    """A cursor that is not ours, was changed, or belongs to another query. ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LastKey:
    """The clustering key of the last play returned: (played_at in ms, source, post_id)."""

    played_at_ms: int
    source: str
    post_id: str


@dataclass(frozen=True)
class Cursor:
    query: str  # digest of the filters it belongs to
    start_ms: int
    end_ms: int
    bucket_index: int
    paging_state: bytes | None  # where the driver page to (re)read starts; None = the bucket's start
    last_key: LastKey | None  # rows of that page up to this key were already returned


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def _sign(payload: bytes, key: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def encode_cursor(cursor: Cursor, key: bytes) -> str:
    body: dict[str, object] = {
        "v": VERSION,
        "q": cursor.query,
        "s": cursor.start_ms,
        "e": cursor.end_ms,
        "b": cursor.bucket_index,
        "p": _b64encode(cursor.paging_state) if cursor.paging_state is not None else None,
        "k": (
            [cursor.last_key.played_at_ms, cursor.last_key.source, cursor.last_key.post_id]
            if cursor.last_key is not None
            else None
        ),
    }
    payload = orjson.dumps(body)
    return f"{_b64encode(payload)}.{_b64encode(_sign(payload, key))}"


def _invalid(reason: str) -> CursorError:
    return CursorError("invalid_cursor", f"invalid cursor: {reason}; start again without a cursor")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_cursor(token: str, key: bytes) -> Cursor:
    """The cursor inside ``token``; ``CursorError`` when it was not signed with ``key`` or is malformed."""
    if len(token) > MAX_CURSOR_CHARS:
        raise _invalid("too long")
    head, dot, tail = token.partition(".")
    if not dot or not head or not tail:
        raise _invalid("not a cursor issued by this API")
    try:
        payload = _b64decode(head)
        signature = _b64decode(tail)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise _invalid("not a cursor issued by this API") from exc
    if not hmac.compare_digest(signature, _sign(payload, key)):
        raise _invalid("signature does not match (changed, or issued before a restart)")
    # From here on the payload is ours; still check it strictly.
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise _invalid("unreadable payload") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise _invalid("unknown version")
    query, start, end, bucket = body.get("q"), body.get("s"), body.get("e"), body.get("b")
    if not isinstance(query, str) or not _is_int(start) or not _is_int(end) or not _is_int(bucket):
        raise _invalid("missing fields")
    assert isinstance(start, int) and isinstance(end, int) and isinstance(bucket, int)
    if bucket < 0 or start >= end:
        raise _invalid("out of range")
    raw_state = body.get("p")
    state: bytes | None = None
    if raw_state is not None:
        if not isinstance(raw_state, str):
            raise _invalid("bad paging state")
        state = _b64decode(raw_state)
    raw_key = body.get("k")
    last: LastKey | None = None
    if raw_key is not None:
        if (
            not isinstance(raw_key, list)
            or len(raw_key) != 3
            or not _is_int(raw_key[0])
            or not isinstance(raw_key[1], str)
            or not isinstance(raw_key[2], str)
        ):
            raise _invalid("bad position")
        last = LastKey(raw_key[0], raw_key[1], raw_key[2])
    return Cursor(query, start, end, bucket, state, last)
