from __future__ import annotations

import random

import pytest
from nowplaying.common.models import RecordError
from nowplaying.extractor.http import backoff_delay, reset_wait_seconds
from nowplaying.extractor.normalize import (
    bluesky_post_to_post,
    mastodon_html_to_text,
    mastodon_status_to_post,
    x_tweet_to_post,
    x_users_by_id,
)
from nowplaying.extractor.sources import _link_next
from nowplaying.extractor.window import Walk, Window, advance


def test_window_complete_walk_moves_lower_to_newest() -> None:
    walk = Walk()
    walk.saw("105", "101")
    walk.saw("100", "98")
    walk.reached_lower = True
    assert advance(Window(lower="97"), walk) == Window(lower="105")


def test_window_interrupted_walk_remembers_the_gap_then_closes_it() -> None:
    first = Walk()
    first.saw("200", "150")  # stopped (rate limit) before reaching 100
    after_first = advance(Window(lower="100"), first)
    assert after_first == Window(lower="100", upper="150", newest="200")
    # the gap walk goes below 150 down to 100; its own newest (149) must not replace 200
    second = Walk()
    second.saw("149", "120")
    after_second = advance(after_first, second)
    assert after_second == Window(lower="100", upper="120", newest="200")
    third = Walk()
    third.saw("119", "101")
    third.reached_lower = True
    assert advance(after_second, third) == Window(lower="200")


def test_window_empty_walk_changes_nothing() -> None:
    assert advance(Window(lower="5"), Walk(reached_lower=True)) == Window(lower="5")
    assert advance(Window(lower="5", upper="9", newest="12"), Walk()) == Window(lower="5", upper="9", newest="12")


def test_numeric_ids_compare_as_numbers() -> None:
    walk = Walk()
    walk.saw("1000", "999")
    walk.reached_lower = True
    assert advance(Window(lower="998"), walk).lower == "1000"


def test_mastodon_html_keeps_text_and_links_but_not_mentions() -> None:
    html = (
        '<p>#<a href="https://m.s/tags/nowplaying" class="mention hashtag" rel="tag">NowPlaying</a> '
        "Sigur Rós &amp; friends – Hoppípolla</p><p>via "
        '<span class="h-card"><a href="https://m.s/@radio" class="u-url mention">@<span>radio</span></a></span>'
        '<br><a href="https://open.spotify.com/track/abc?si=1" rel="nofollow">'
        '<span class="invisible">https://</span><span class="ellipsis">open.spotify.com/track/a</span>'
        '<span class="invisible">bc?si=1</span></a></p>'
    )
    text, urls = mastodon_html_to_text(html)
    assert text.startswith("#NowPlaying Sigur Rós & friends – Hoppípolla")
    assert "via @radio\n" in text
    assert urls == ["https://open.spotify.com/track/abc?si=1"]


def test_x_tweet_to_post_decodes_entities_and_joins_author() -> None:
    page = {
        "data": [
            {
                "id": "1800000000000000001",
                "text": "#NowPlaying Simon &amp; Garfunkel - The Boxer https://t.co/x",
                "created_at": "2026-11-28T10:00:00.000Z",
                "author_id": "42",
                "lang": "en",
                "entities": {"urls": [{"url": "https://t.co/x", "expanded_url": "https://open.spotify.com/track/1"}]},
            }
        ],
        "includes": {"users": [{"id": "42", "name": "Radio 42", "username": "radio42"}]},
    }
    post = x_tweet_to_post(page["data"][0], x_users_by_id(page))
    assert post.text.startswith("#NowPlaying Simon & Garfunkel")
    assert post.urls == ["https://open.spotify.com/track/1"]
    assert post.author_name == "radio42" and post.source == "x" and not post.is_repost
    retweet = {**page["data"][0], "text": "RT @a: #NowPlaying x - y"}
    assert x_tweet_to_post(retweet, {}).is_repost


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"text": "no id"}, "no valid 'id'"),
        ({"id": "1", "text": "x", "author_id": "2"}, "no valid 'created_at'"),
        ({"id": "1", "text": "x", "author_id": "2", "created_at": "yesterday"}, "RFC 3339"),
        ("not an object", "not an object"),
    ],
)
def test_malformed_tweet_names_the_problem(item: object, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        x_tweet_to_post(item, {})


def test_mastodon_status_and_bluesky_post() -> None:
    status = {
        "id": "113000000000000001",
        "created_at": "2026-11-28T10:00:00.000Z",
        "content": "<p>#nowplaying 宇多田ヒカル - First Love</p>",
        "language": "ja",
        "account": {"id": "7", "acct": "user@example.social", "bot": False},
        "reblog": None,
    }
    post = mastodon_status_to_post(status)
    assert post.text == "#nowplaying 宇多田ヒカル - First Love" and post.lang == "ja"
    view = {
        "uri": "at://did:plc:abc/app.bsky.feed.post/3k1",
        "cid": "bafy",
        "author": {"did": "did:plc:abc", "handle": "dj.bsky.social"},
        "record": {
            "text": "#nowplaying Rosalía - Malamente",
            "createdAt": "2026-11-28T10:00:00.000Z",
            "langs": ["es"],
            "embed": {"$type": "app.bsky.embed.external", "external": {"uri": "https://music.apple.com/x"}},
        },
        "indexedAt": "2026-11-28T10:00:01.000Z",
    }
    bsky = bluesky_post_to_post(view)
    assert bsky.post_id == view["uri"] and bsky.lang == "es" and bsky.urls == ["https://music.apple.com/x"]


def test_reset_headers_of_every_source() -> None:
    now = 1_800_000_000.0
    assert reset_wait_seconds({"x-rate-limit-reset": str(int(now) + 30)}, now) == 30
    assert reset_wait_seconds({"ratelimit-reset": str(int(now) + 5)}, now) == 5
    assert reset_wait_seconds({"Retry-After": "20000"}, now) == 20000
    iso_now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert reset_wait_seconds({"X-RateLimit-Reset": "2026-01-01T00:01:00.000000Z"}, iso_now) == pytest.approx(60)
    assert reset_wait_seconds({}, now) is None


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 0.5, 8.0, rng) for attempt in range(10)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) == len(delays)


def test_link_header_next() -> None:
    header = (
        '<https://m.s/api/v1/timelines/tag/np?max_id=7>; rel="next", '
        '<https://m.s/api/v1/timelines/tag/np?min_id=9>; rel="prev"'
    )
    assert _link_next(header, "https://m.s/") == "https://m.s/api/v1/timelines/tag/np?max_id=7"
    assert _link_next('<https://m.s/x?min_id=9>; rel="prev"', "https://m.s/") is None
    assert _link_next(None, "https://m.s/") is None
