"""Cursor signing: a cursor round-trips, and any change to it (or another key) is refused."""

from __future__ import annotations

import base64

import pytest
from nowplaying.gateway.cursor import Cursor, CursorError, LastKey, decode_cursor, encode_cursor

KEY = b"k" * 32
CURSOR = Cursor("q" * 24, 1_700_000_000_000, 1_700_086_400_000, 3, b"\x00\x01driver-state\xff", LastKey(1, "x", "p"))


def test_round_trip_keeps_every_field() -> None:
    assert decode_cursor(encode_cursor(CURSOR, KEY), KEY) == CURSOR
    bare = Cursor("q", 0, 1, 0, None, None)
    assert decode_cursor(encode_cursor(bare, KEY), KEY) == bare


def test_token_is_url_safe() -> None:
    token = encode_cursor(CURSOR, KEY)
    assert all(c.isalnum() or c in "-_." for c in token)


def test_another_key_is_refused() -> None:
    with pytest.raises(CursorError) as err:
        decode_cursor(encode_cursor(CURSOR, KEY), b"other-key")
    assert err.value.code == "invalid_cursor"


def test_every_single_character_change_is_refused() -> None:
    token = encode_cursor(CURSOR, KEY)
    for index in range(len(token)):
        if token[index] == ".":
            continue
        for replacement in "AB":
            if replacement == token[index]:
                continue
            changed = token[:index] + replacement + token[index + 1 :]
            try:
                decoded = decode_cursor(changed, KEY)
            except CursorError:
                continue
            # base64 padding bits can change without changing the bytes: then it is the same cursor.
            assert decoded == CURSOR


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "%%%.%%%", "x" * 5000, "ünïcode.ß"],
)
def test_garbage_is_refused_with_a_clear_message(token: str) -> None:
    with pytest.raises(CursorError) as err:
        decode_cursor(token, KEY)
    assert "invalid cursor" in str(err.value)


def test_signed_but_malformed_payloads_are_refused() -> None:
    import hashlib
    import hmac

    def sign(payload: bytes) -> str:
        sig = hmac.new(KEY, payload, hashlib.sha256).digest()
        enc = base64.urlsafe_b64encode
        return enc(payload).rstrip(b"=").decode() + "." + enc(sig).rstrip(b"=").decode()

    for payload in (b"[]", b'{"v":2}', b'{"v":1,"q":"a","s":5,"e":1,"b":0}', b'{"v":1,"q":"a","s":0,"e":1,"b":-1}',
                    b'{"v":1,"q":"a","s":0,"e":1,"b":0,"k":[1,2]}', b"not json"):  # fmt: skip
        with pytest.raises(CursorError):
            decode_cursor(sign(payload), KEY)
