"""X API v2 recent search in the sandbox, driven with aiohttp (the extractor's client)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

AUTH = {"Authorization": "Bearer sandbox-bearer"}


async def search(sandbox: Any, params: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    url = sandbox.urls["X_API_BASE"] + "/2/tweets/search/recent"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, headers=AUTH if headers is None else headers) as response,
    ):
        return response.status, response.headers, await response.json()


def expected_ids(sandbox: Any, *, retweets: bool = True) -> list[str]:
    posts = sandbox.posts("x")
    return [p["post_id"] for p in reversed(posts) if retweets or not p["is_repost"]]


async def test_paging_returns_every_matching_post_once_newest_first(sandbox: Any) -> None:
    params = {
        "query": "#NowPlaying -is:retweet",
        "max_results": "100",
        "tweet.fields": "created_at,author_id,lang,entities",
        "expansions": "author_id",
        "user.fields": "username,name",
    }
    seen: list[str] = []
    pages = 0
    while True:
        status, _, body = await search(sandbox, params)
        assert status == 200
        pages += 1
        data = body["data"]
        assert body["meta"]["result_count"] == len(data)
        assert body["meta"]["newest_id"] == data[0]["id"] and body["meta"]["oldest_id"] == data[-1]["id"]
        users = {u["id"] for u in body["includes"]["users"]}
        for tweet in data:
            assert tweet["author_id"] in users
            assert set(tweet) >= {"id", "text", "edit_history_tweet_ids", "created_at", "author_id", "lang"}
            datetime.strptime(tweet["created_at"], "%Y-%m-%dT%H:%M:%S.%f%z")  # tweepy's format
            assert not tweet["text"].startswith("RT @")
        seen.extend(t["id"] for t in data)
        token = body["meta"].get("next_token")
        if token is None:
            break
        params["next_token"] = token
    assert pages >= 2
    assert seen == expected_ids(sandbox, retweets=False)
    assert len(set(seen)) == len(seen)
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)
    served = sandbox.served("x")
    assert set(served) == set(seen) and set(served.values()) == {1}


async def test_pagination_token_alias_and_defaults(sandbox: Any) -> None:
    status, _, first = await search(sandbox, {"query": "#nowplaying"})
    assert status == 200 and first["meta"]["result_count"] == 10  # default max_results
    assert set(first["data"][0]) == {"id", "text", "edit_history_tweet_ids"}  # default fields
    assert "includes" not in first
    _, _, second = await search(sandbox, {"query": "#nowplaying", "pagination_token": first["meta"]["next_token"]})
    assert int(second["data"][0]["id"]) < int(first["data"][-1]["id"])


async def test_since_id_until_id_and_time_window(sandbox: Any) -> None:
    ids = expected_ids(sandbox)  # newest first, retweets included
    since, until = ids[30], ids[10]
    _, _, body = await search(
        sandbox, {"query": "#nowplaying", "max_results": "100", "since_id": since, "until_id": until}
    )
    assert [t["id"] for t in body["data"]] == ids[11:30]  # both bounds exclusive
    # new posts appear: since_id picks up exactly those
    sandbox.publish(40)
    _, _, newer = await search(sandbox, {"query": "#nowplaying", "max_results": "100", "since_id": ids[0]})
    fresh = [p["post_id"] for p in sandbox.posts("x")][len(ids) :]
    assert sorted(t["id"] for t in newer["data"]) == sorted(fresh)
    # start_time older than 7 days is refused; end_time in the last 10 s too
    old = (datetime.now(UTC) - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, _, err = await search(sandbox, {"query": "#nowplaying", "start_time": old})
    assert status == 400 and "start_time" in err["errors"][0]["message"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, _, err = await search(sandbox, {"query": "#nowplaying", "end_time": now})
    assert status == 400 and "end_time" in err["errors"][0]["message"]
    # a window with nothing in it: no data key at all
    future_window = {
        "start_time": (datetime.now(UTC) - timedelta(days=6, hours=23)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_time": (datetime.now(UTC) - timedelta(days=6, hours=22)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    status, _, empty = await search(sandbox, {"query": "#nowplaying", **future_window})
    assert status == 200 and empty == {"meta": {"result_count": 0}}


async def test_query_language(sandbox: Any) -> None:
    posts = sandbox.posts("x")
    _, _, retweets = await search(sandbox, {"query": "#nowplaying is:retweet", "max_results": "100"})
    assert {t["id"] for t in retweets["data"]} == {p["post_id"] for p in posts if p["is_repost"]}
    _, _, spanish = await search(
        sandbox, {"query": "#nowplaying lang:es", "max_results": "100", "tweet.fields": "lang"}
    )
    assert spanish["data"] and all(t["lang"] == "es" for t in spanish["data"])
    _, _, links = await search(
        sandbox, {"query": "#nowplaying has:links -is:retweet", "max_results": "100", "tweet.fields": "entities"}
    )
    for tweet in links["data"]:
        assert "t.co/" in tweet["text"]
        assert tweet["entities"]["urls"][0]["expanded_url"].startswith("https://")
    _, _, either = await search(sandbox, {"query": "(#gaming OR #pandora) -is:retweet", "max_results": "100"})
    assert either["data"] and all("#gaming" in t["text"] or "#pandora" in t["text"] for t in either["data"])
    status, _, err = await search(sandbox, {"query": "#nowplaying colour:blue"})
    assert status == 400 and "invalid operator 'colour'" in err["errors"][0]["message"]


@pytest.mark.parametrize("value", ["5", "101", "ten"])
async def test_max_results_outside_10_to_100_is_400(sandbox: Any, value: str) -> None:
    status, _, body = await search(sandbox, {"query": "#nowplaying", "max_results": value})
    assert status == 400
    assert (
        body["errors"][0]["message"] == f"The `max_results` query parameter value [{value}] is not between 10 and 100"
    )
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"


async def test_auth_errors_are_problem_objects(sandbox: Any) -> None:
    status, _, body = await search(sandbox, {"query": "#nowplaying"}, headers={})
    assert status == 401 and body == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    status, _, body = await search(sandbox, {"query": "#nowplaying"}, headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, _, body = await search(
        sandbox, {"query": "#nowplaying"}, headers={"Authorization": "Bearer sandbox-not-enrolled"}
    )
    assert status == 403 and body["reason"] == "client-not-enrolled"
    assert body["type"] == "https://api.twitter.com/2/problems/client-forbidden"


async def test_rate_limit_headers_and_429(sandbox: Any) -> None:
    sandbox.configure(limits={"x": {"limit": 3, "window_s": 60}})
    remaining = []
    for _ in range(3):
        status, headers, _ = await search(sandbox, {"query": "#nowplaying"})
        assert status == 200
        assert headers["x-rate-limit-limit"] == "3"
        remaining.append(int(headers["x-rate-limit-remaining"]))
        reset = int(headers["x-rate-limit-reset"])
        assert time.time() < reset <= time.time() + 61
    assert remaining == [2, 1, 0]
    status, headers, body = await search(sandbox, {"query": "#nowplaying"})
    assert status == 429 and body["title"] == "Too Many Requests"
    assert headers["x-rate-limit-remaining"] == "0" and int(headers["x-rate-limit-reset"]) >= int(time.time())
