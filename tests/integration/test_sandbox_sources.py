"""ReccoBeats, Mastodon and Bluesky in the sandbox, driven with aiohttp (the services' client)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest


async def get(url: str, params: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as session, session.get(url, params=params, headers=headers) as response:
        return response.status, response.headers, await response.json()


async def post(url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as response:
        return response.status, await response.json()


# --- ReccoBeats --------------------------------------------------------------------------------


async def test_reccobeats_audio_features(sandbox: Any) -> None:
    catalog = sandbox.state.catalog
    known = [t for t in catalog.track_list if t.reccobeats_id][:30]
    unknown = [t for t in catalog.track_list if not t.reccobeats_id][:5]
    ids = [t.id for t in known + unknown] + ["0000000000000000000000"]
    url = sandbox.urls["RECCOBEATS_BASE"] + "/v1/audio-features"
    status, _, body = await get(url, {"ids": ",".join(ids)})
    assert status == 200
    rows = body["content"]
    by_spotify = {re.search(r"/track/(\w+)", r["href"]).group(1): r for r in rows}  # type: ignore[union-attr]
    assert set(by_spotify) == {t.id for t in known}  # unknown ids are left out
    assert [r["href"] for r in rows] != [f"https://open.spotify.com/track/{t.id}" for t in known]  # not in order
    for track in known:
        row = by_spotify[track.id]
        assert row["id"] == track.reccobeats_id and row["danceability"] == track.features["danceability"]
        assert "time_signature" not in row and "duration_ms" not in row
    # repeated ids= works too
    status, _, body = await get(url, [("ids", known[0].id), ("ids", known[1].id)])
    assert status == 200 and len(body["content"]) == 2


@pytest.mark.parametrize("count", [0, 41])
async def test_reccobeats_size_limits(sandbox: Any, count: int) -> None:
    ids = ",".join(t.id for t in sandbox.state.catalog.track_list[:count])
    status, _, body = await get(sandbox.urls["RECCOBEATS_BASE"] + "/v1/audio-features", {"ids": ids})
    assert status == 400 and body == {"status": 4004, "errors": [{"message": "size must be between 1 and 40"}]}


async def test_reccobeats_rate_limit_has_retry_after(sandbox: Any) -> None:
    sandbox.configure(limits={"reccobeats": {"limit": 1, "window_s": 30}})
    url = sandbox.urls["RECCOBEATS_BASE"] + "/v1/audio-features"
    track_id = sandbox.state.catalog.track_list[0].id
    assert (await get(url, {"ids": track_id}))[0] == 200
    status, headers, _ = await get(url, {"ids": track_id})
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 30


# --- Mastodon ----------------------------------------------------------------------------------


def next_link(headers: Any, rel: str) -> str | None:
    for part in headers.get("Link", "").split(","):
        match = re.search(r'<([^>]+)>;\s*rel="(\w+)"', part)
        if match and match.group(2) == rel:
            return match.group(1)
    return None


async def test_mastodon_tag_timeline_paging_through_link_headers(sandbox: Any) -> None:
    expected = [p["post_id"] for p in reversed(sandbox.posts("mastodon"))]  # all carry #nowplaying
    url: str | None = sandbox.urls["MASTODON_BASE"] + "/api/v1/timelines/tag/nowplaying?limit=40"
    seen: list[str] = []
    first_headers = None
    while url:
        status, headers, statuses = await get(url)
        assert status == 200
        first_headers = first_headers or headers
        if not statuses:
            break
        for s in statuses:
            assert s["content"].startswith("<p>") and "nowplaying" in {t["name"] for t in s["tags"]}
            assert s["account"]["acct"] and s["created_at"].endswith("Z")
        seen.extend(s["id"] for s in statuses)
        url = next_link(headers, "next")
    assert seen == expected
    assert first_headers is not None
    reset = datetime.strptime(first_headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert reset > datetime.now(UTC)
    assert int(first_headers["X-RateLimit-Limit"]) == 300 and int(first_headers["X-RateLimit-Remaining"]) < 300
    # going forward: the prev link (min_id) of the newest page gets the posts published since
    status, headers, newest = await get(sandbox.urls["MASTODON_BASE"] + "/api/v1/timelines/tag/nowplaying")
    prev = next_link(headers, "prev")
    assert prev and f"min_id={newest[0]['id']}" in prev
    sandbox.publish(60)
    fresh = [p["post_id"] for p in sandbox.posts("mastodon")][len(expected) :]
    assert fresh
    got: list[str] = []
    while prev:
        status, headers, page = await get(prev)
        if not page:
            break
        got.extend(s["id"] for s in page)
        prev = next_link(headers, "prev")
    assert sorted(got) == sorted(fresh)


async def test_mastodon_limits_ids_and_errors(sandbox: Any) -> None:
    base = sandbox.urls["MASTODON_BASE"] + "/api/v1/timelines/tag/"
    status, _, page = await get(base + "nowplaying", {"limit": "500"})
    assert status == 200 and len(page) == 40  # clamped to 40
    status, _, page = await get(base + "NowPlaying", {"since_id": page[5]["id"]})
    assert status == 200 and len(page) == 5
    status, _, body = await get(base + "thistagneverexisted")
    assert status == 404 and body == {"error": "Record not found"}
    # an instance that disabled public timelines
    sandbox.configure(mastodon_require_auth=True)
    status, _, body = await get(base + "nowplaying")
    assert status == 401 and body == {"error": "The access token is invalid"}


async def test_mastodon_html_content_escapes_and_links(sandbox: Any) -> None:
    posts = [p for p in sandbox.state.timeline.all_posts("mastodon") if p.urls or "&" in p.text or "'" in p.text]
    assert posts
    for p in posts[:20]:
        status = p.mastodon_status()
        if "&" in p.text:
            assert "&amp;" in status["content"]
        if "'" in p.text:
            assert "&#39;" in status["content"]
        for url in p.urls:
            assert "<a href=" in status["content"] and url.split("://")[1][:20] in status["content"]


# --- Bluesky -----------------------------------------------------------------------------------


async def login(sandbox: Any) -> dict[str, Any]:
    status, body = await post(
        sandbox.urls["BLUESKY_BASE"] + "/xrpc/com.atproto.server.createSession",
        {"identifier": "sandbox.bsky.social", "password": "sandbox-app-password"},
    )
    assert status == 200
    return body  # type: ignore[no-any-return]


async def test_bluesky_session_and_search_paging(sandbox: Any) -> None:
    session = await login(sandbox)
    assert session["did"].startswith("did:plc:") and session["handle"] == "sandbox.bsky.social"
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}
    url = sandbox.urls["BLUESKY_BASE"] + "/xrpc/app.bsky.feed.searchPosts"
    expected = [p["post_id"] for p in reversed(sandbox.posts("bluesky"))]
    params: dict[str, str] = {"q": "#nowplaying", "limit": "30", "sort": "latest"}
    seen: list[str] = []
    while True:
        status, headers, body = await get(url, params, auth)
        assert status == 200
        assert headers["ratelimit-policy"] == "3000;w=300" and int(headers["ratelimit-reset"]) > 0
        for view in body["posts"]:
            assert view["uri"].startswith("at://did:plc:") and view["record"]["createdAt"].endswith("Z")
            assert view["author"]["handle"]
        seen.extend(v["uri"] for v in body["posts"])
        if "cursor" not in body:
            break
        params["cursor"] = body["cursor"]
    assert seen == expected
    # tag= works like the #tag in q
    status, _, by_tag = await get(url, [("q", "*"), ("tag", "nowplaying"), ("limit", "100")], auth)
    assert status == 200 and len(by_tag["posts"]) == min(100, len(expected))


async def test_bluesky_auth_errors_and_refresh(sandbox: Any) -> None:
    url = sandbox.urls["BLUESKY_BASE"] + "/xrpc/app.bsky.feed.searchPosts"
    status, _, body = await get(url, {"q": "#nowplaying"})
    assert status == 401 and body["error"] == "AuthenticationRequired"
    status, body = await post(
        sandbox.urls["BLUESKY_BASE"] + "/xrpc/com.atproto.server.createSession",
        {"identifier": "sandbox.bsky.social", "password": "wrong"},
    )
    assert status == 401 and body["error"] == "AuthenticationRequired"
    session = await login(sandbox)
    sandbox.admin("POST", "/expire-tokens")
    status, _, body = await get(url, {"q": "#nowplaying"}, {"Authorization": f"Bearer {session['accessJwt']}"})
    assert status == 400 and body["error"] == "ExpiredToken"
    refresh_url = sandbox.urls["BLUESKY_BASE"] + "/xrpc/com.atproto.server.refreshSession"
    status, fresh = await post(refresh_url, headers={"Authorization": f"Bearer {session['refreshJwt']}"})
    assert status == 200 and fresh["accessJwt"] != session["accessJwt"]
    status, _, body = await get(url, {"q": "#nowplaying"}, {"Authorization": f"Bearer {fresh['accessJwt']}"})
    assert status == 200 and body["posts"]
    status, body = await post(refresh_url, headers={"Authorization": f"Bearer {session['refreshJwt']}"})
    assert status == 400 and body["error"] == "ExpiredToken"  # a refresh token works once
    status, _, body = await get(url, {"q": "#nowplaying"}, {"Authorization": f"Bearer {fresh['refreshJwt']}"})
    assert status == 400 and body["error"] == "InvalidToken"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "10"}, 'must have the property "q"'),
        ({"q": "x", "limit": "0"}, "less than 1"),
        ({"q": "x", "limit": "101"}, "greater than 100"),
        ({"q": "x", "cursor": "!!"}, "Invalid cursor"),
    ],
)
async def test_bluesky_bad_parameters(sandbox: Any, params: dict[str, str], message: str) -> None:
    session = await login(sandbox)
    url = sandbox.urls["BLUESKY_BASE"] + "/xrpc/app.bsky.feed.searchPosts"
    status, _, body = await get(url, params, {"Authorization": f"Bearer {session['accessJwt']}"})
    assert status == 400 and message in body["message"]
