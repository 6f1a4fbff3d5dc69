"""Every fault mode on every API, seen through the real clients (aiohttp; spotipy for Spotify)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials

Request = Callable[[aiohttp.ClientSession], Awaitable[aiohttp.ClientResponse]]


async def bluesky_token(sandbox: Any) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            sandbox.urls["BLUESKY_BASE"] + "/xrpc/com.atproto.server.createSession",
            json={"identifier": "sandbox.bsky.social", "password": "sandbox-app-password"},
        ) as r,
    ):
        return str((await r.json())["accessJwt"])


def requester(sandbox: Any, api: str, token: str) -> Callable[[aiohttp.ClientSession], Any]:
    urls = sandbox.urls
    track_id = sandbox.state.catalog.track_list[0].id
    if api == "x":
        return lambda s: s.get(
            urls["X_API_BASE"] + "/2/tweets/search/recent",
            params={"query": "#nowplaying"},
            headers={"Authorization": "Bearer sandbox-bearer"},
        )
    if api == "mastodon":
        return lambda s: s.get(urls["MASTODON_BASE"] + "/api/v1/timelines/tag/nowplaying")
    if api == "bluesky":
        return lambda s: s.get(
            urls["BLUESKY_BASE"] + "/xrpc/app.bsky.feed.searchPosts",
            params={"q": "#nowplaying"},
            headers={"Authorization": f"Bearer {token}"},
        )
    return lambda s: s.get(urls["RECCOBEATS_BASE"] + "/v1/audio-features", params={"ids": track_id})


AIOHTTP_APIS = ("x", "mastodon", "bluesky", "reccobeats")


@pytest.mark.parametrize("api", AIOHTTP_APIS)
async def test_rate_limit_faults_carry_each_apis_headers(sandbox: Any, api: str) -> None:
    token = await bluesky_token(sandbox)
    call = requester(sandbox, api, token)
    for mode, seconds in (("429", 2), ("429long", 20000)):
        sandbox.set_faults(f"{api}:{mode}:n1")
        async with aiohttp.ClientSession() as session:
            async with call(session) as response:
                assert response.status == 429
                h = response.headers
                now = time.time()
                if api == "x":
                    assert h["x-rate-limit-remaining"] == "0"
                    assert now + seconds - 5 <= int(h["x-rate-limit-reset"]) <= now + seconds + 1
                    assert (await response.json())["title"] == "Too Many Requests"
                elif api == "mastodon":
                    reset = datetime.strptime(h["X-RateLimit-Reset"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                    assert now + seconds - 5 <= reset.timestamp() <= now + seconds + 1
                    assert await response.json() == {"error": "Too many requests"}
                elif api == "bluesky":
                    assert now + seconds - 5 <= int(h["ratelimit-reset"]) <= now + seconds + 1
                    assert (await response.json())["error"] == "RateLimitExceeded"
                else:
                    assert h["Retry-After"] == str(seconds)
            async with call(session) as response:  # n1: only the next request
                assert response.status == 200


@pytest.mark.parametrize("api", AIOHTTP_APIS)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors(sandbox: Any, api: str, status: int) -> None:
    token = await bluesky_token(sandbox)
    sandbox.set_faults(f"{api}:{status}:n1")
    async with aiohttp.ClientSession() as session, requester(sandbox, api, token)(session) as response:
        assert response.status == status
        body = await response.json()  # each API's own error shape
        if api == "x":
            assert body["status"] == status and "title" in body
        elif api == "bluesky":
            assert set(body) == {"error", "message"}
        elif api == "mastodon":
            assert "error" in body


@pytest.mark.parametrize("api", AIOHTTP_APIS)
async def test_transport_faults(sandbox: Any, api: str) -> None:
    token = await bluesky_token(sandbox)
    call = requester(sandbox, api, token)
    async with aiohttp.ClientSession() as session:
        # aiohttp retries an idempotent request once when the connection drops (RFC 9112), so it
        # takes two drops in a row for the caller to see one.
        sandbox.set_faults(f"{api}:drop:n1")
        async with call(session) as response:
            assert response.status == 200
        sandbox.set_faults(f"{api}:drop:n2")
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with call(session) as response:
                await response.read()
        sandbox.set_faults(f"{api}:truncated:n1")
        with pytest.raises(aiohttp.ClientPayloadError):
            async with call(session) as response:
                assert response.status == 200
                await response.read()
        sandbox.set_faults(f"{api}:malformed:n1")
        async with call(session) as response:
            assert response.status == 200
            with pytest.raises(json.JSONDecodeError):
                await response.json()
        sandbox.set_faults(f"{api}:slow=1.5:n1")

        async def fetch() -> bytes:
            async with call(session) as response:
                return await response.read()

        with pytest.raises(asyncio.TimeoutError):  # a client with a 0.3 s timeout gives up
            await asyncio.wait_for(fetch(), 0.3)
        started = time.monotonic()
        async with call(session) as response:  # after the faults: normal again, and quick
            assert response.status == 200
            await response.json()
        assert time.monotonic() - started < 1.0
    requests_seen = sandbox.stats()["requests"][api]
    assert requests_seen["drop"] == 3 and requests_seen["truncated"] == 1 and requests_seen["malformed"] == 1


async def test_slow_answers_arrive_late_but_whole(sandbox: Any) -> None:
    sandbox.set_faults("x:slow=1.0:n1")
    call = requester(sandbox, "x", "")
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, call(session) as response:
        assert response.status == 200
        assert (await response.json())["meta"]["result_count"] == 10
    assert time.monotonic() - started >= 1.0


def spotify(sandbox: Any, timeout: float = 5) -> spotipy.Spotify:
    auth = SpotifyClientCredentials("sandbox-client", "sandbox-secret", cache_handler=MemoryCacheHandler())
    auth.OAUTH_TOKEN_URL = sandbox.urls["SPOTIFY_ACCOUNTS_BASE"] + "/api/token"
    sp = spotipy.Spotify(auth_manager=auth, requests_session=requests.Session(), requests_timeout=timeout)
    sp.prefix = sandbox.urls["SPOTIFY_API_BASE"] + "/"
    return sp


def test_every_fault_mode_through_spotipy(sandbox: Any) -> None:
    sp = spotify(sandbox, timeout=0.5)
    track_id = sandbox.state.catalog.track_list[0].id
    sp.track(track_id)  # token first, so the faults hit the Web API
    for status in (500, 502, 503, 504):
        sandbox.set_faults(f"spotify:{status}:n1")
        with pytest.raises(spotipy.SpotifyException) as caught:
            sp.track(track_id)
        assert caught.value.http_status == status
    sandbox.set_faults("spotify:429:n1")
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.search("love", limit=1)
    assert caught.value.http_status == 429 and caught.value.headers["Retry-After"] == "2"
    sandbox.set_faults("spotify:drop:n1")
    with pytest.raises(requests.ConnectionError):
        sp.track(track_id)
    sandbox.set_faults("spotify:truncated:n1")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        sp.track(track_id)
    sandbox.set_faults("spotify:malformed:n1")
    assert sp.track(track_id) is None  # spotipy turns a body that is not JSON into None
    sandbox.set_faults("spotify:slow=1.5:n1")
    with pytest.raises(requests.exceptions.ReadTimeout):
        sp.track(track_id)
    assert sp.track(track_id)["id"] == track_id


def test_token_endpoint_faults_only_where_asked(sandbox: Any) -> None:
    sandbox.set_faults([{"api": "spotify", "mode": "503", "count": 1, "path": "/api/token"}])
    sp = spotify(sandbox)
    with pytest.raises(spotipy.SpotifyOauthError):
        sp.search("love", limit=1)
    assert sp.search("love", limit=1)["tracks"]["items"]


def test_probability_faults_fire_at_about_that_rate(sandbox: Any) -> None:
    sandbox.set_faults("reccobeats:503:0.5")
    url = sandbox.urls["RECCOBEATS_BASE"] + "/v1/audio-features"
    track_id = sandbox.state.catalog.track_list[0].id
    statuses = [requests.get(url, params={"ids": track_id}, timeout=5).status_code for _ in range(120)]
    assert set(statuses) == {200, 503}
    assert 0.3 < statuses.count(503) / len(statuses) < 0.7
    assert sandbox.stats()["faults_fired"]["reccobeats:503"] == statuses.count(503)


def test_faults_from_configuration_and_bad_admin_input(sandbox_server: Any) -> None:
    from nowplaying.sandbox.server import start_sandbox
    from nowplaying.sandbox.state import SandboxConfig

    other = start_sandbox(SandboxConfig(initial_posts=20, posts_per_minute=0, faults="mastodon:502"))
    try:
        url = other.urls["MASTODON_BASE"] + "/api/v1/timelines/tag/nowplaying"
        assert [requests.get(url, timeout=5).status_code for _ in range(3)] == [502, 502, 502]
        other.reset()
        assert requests.get(url, timeout=5).status_code == 502  # reset keeps the configured faults
        answer = requests.post(other.base_url + "/_admin/faults", json={"spec": "mastodon:teapot"}, timeout=5)
        assert answer.status_code == 400 and "unknown fault mode 'teapot'" in answer.json()["error"]
        requests.delete(other.base_url + "/_admin/faults", timeout=5)
        assert requests.get(url, timeout=5).status_code == 200
    finally:
        other.stop()
