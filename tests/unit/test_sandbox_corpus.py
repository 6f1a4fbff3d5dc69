"""The corpus generator: deterministic, realistic, truthful, streaming."""

from __future__ import annotations

import gc
import html
import re
import time
from collections import Counter
from itertools import islice

import pytest
from nowplaying.common.models import Post
from nowplaying.sandbox.catalog import SPOTIFY_ID_RE, fold, get_catalog
from nowplaying.sandbox.corpus import SOURCES, generate_posts

N = 20_000


@pytest.fixture(scope="module")
def posts() -> list:
    return list(generate_posts(seed=42, n=N))


def test_same_seed_same_corpus_and_other_seed_differs() -> None:
    first = [p.to_dict() for p in generate_posts(seed=7, n=3000)]
    again = [p.to_dict() for p in generate_posts(seed=7, n=3000)]
    other = [p.to_dict() for p in generate_posts(seed=8, n=3000)]
    assert first == again
    assert [p["text"] for p in first] != [p["text"] for p in other]
    # the native objects too (what the servers send)
    a = [p.native() for p in generate_posts(seed=7, n=300)]
    b = [p.native() for p in generate_posts(seed=7, n=300)]
    assert a == b


def test_every_post_has_one_source_and_a_unique_id(posts: list) -> None:
    assert {p.source for p in posts} == set(SOURCES)
    ids = [(p.source, p.post_id) for p in posts]
    assert len(set(ids)) == len(ids)
    by_source = Counter(p.source for p in posts)
    for source in SOURCES:
        assert by_source[source] > N * 0.1
    # ids grow with time within a source (X snowflakes, Mastodon ids)
    for source in ("x", "mastodon"):
        numeric = [int(p.post_id) for p in posts if p.source == source]
        assert numeric == sorted(numeric)


def test_the_mix_is_realistic(posts: list) -> None:
    kinds = Counter(p.truth.kind for p in posts)
    assert 0.45 < kinds["parsed"] / N < 0.85
    assert 0.04 < kinds["link"] / N < 0.2
    assert 0.02 < kinds["query"] / N < 0.12
    assert 0.08 < kinds["none"] / N < 0.25
    formats = Counter(p.truth.format.split("/")[-1] for p in posts)
    for name in (
        "hashtag_dash",
        "by",
        "listening_on_service",
        "music_note",
        "quoted",
        "brackets",
        "spotify_link",
        "apple_music",
        "youtube",
        "tv",
        "game",
        "podcast",
        "film",
        "bare_rt",
        "station_only",
        "radio_now_playing_on",
        "html_entities",
        "lang_framed",
        "variant",
        "featuring",
    ):
        assert formats[name] > 0, name
    bots = [p for p in posts if p.truth.is_bot]
    assert 0.15 < len(bots) / N < 0.3
    assert all(p.author.is_bot for p in bots)
    retweets = [p for p in posts if p.is_repost]
    assert retweets and all(p.source == "x" and p.text.startswith("RT @") for p in retweets)
    langs = Counter(p.lang for p in posts)
    for lang in ("en", "es", "pt", "ja", "ko", "ru", "ar", "de", "fr"):
        assert langs[lang] > 0, lang
    text = " ".join(p.text for p in posts)
    for script in (r"[\u3040-\u30ff]", r"[\uac00-\ud7af]", r"[\u0400-\u04ff]", r"[\u0600-\u06ff]", r"[áéíóúñãç]"):
        assert re.search(script, text), script
    assert re.search(r"[\U0001F300-\U0001FAFF]", text)  # emoji


def test_repeats_happen_at_realistic_rates(posts: list) -> None:
    songs = Counter((p.truth.artist, p.truth.title) for p in posts if p.truth.kind != "none")
    plays = sum(songs.values())
    top10 = sum(c for _, c in songs.most_common(10))
    assert 0.03 < top10 / plays < 0.4  # hits recur, but the long tail is long
    assert len(songs) > 1000
    # a radio bot repeats its playlist
    station_posts = Counter(
        (p.author.username, p.truth.title) for p in posts if p.truth.is_bot and p.truth.kind == "parsed"
    )
    assert max(station_posts.values()) >= 3


def test_truth_agrees_with_the_text_and_the_catalog(posts: list) -> None:
    catalog = get_catalog(42)
    not_in_catalog = 0
    for p in posts:
        t = p.truth
        if t.kind == "none":
            assert t.artist is None and t.title is None and t.track_id is None
            continue
        assert t.artist and t.title
        text = fold(html.unescape(p.text))
        if t.format.split("/")[-1] not in ("variant", "query_title_only", "spotify_link"):
            assert fold(t.artist) in text, (t, p.text)
        if t.track_id is None:
            not_in_catalog += 1
            continue
        track = catalog.track(t.track_id)
        assert track is not None and SPOTIFY_ID_RE.match(t.track_id)
        assert track.name == t.title
        if t.kind == "link":
            assert any(t.track_id in u and "open.spotify.com" in u for u in p.urls)
            assert t.artist in catalog.artist_names(track)
    assert not_in_catalog > 0  # some songs people post are not on Spotify


def test_as_post_follows_the_lake_contract(posts: list) -> None:
    for p in islice(posts, 3000):
        record = p.as_post()
        post = Post.from_dict(record)
        assert post.source == p.source and post.post_id == p.post_id
        assert "&amp;" not in post.text or "&amp;amp;" in html.escape(p.text)
        if p.source == "x":
            assert record["raw"]["id"] == p.post_id
            assert record["raw"]["created_at"].endswith("Z") and "." in record["raw"]["created_at"]
        if p.urls:
            assert post.urls == list(p.urls)


def test_native_objects_carry_the_expanded_links(posts: list) -> None:
    linked = [p for p in posts if p.truth.kind == "link"][:200]
    assert linked
    for p in linked:
        url = p.urls[0]
        if p.source == "x":
            tweet = p.x_tweet()
            assert "t.co/" in tweet["text"] and url not in tweet["text"]
            assert tweet["entities"]["urls"][0]["expanded_url"] == url
        elif p.source == "mastodon":
            status = p.mastodon_status()
            assert f'href="{html.escape(url)}"' in status["content"]
            assert status["card"]["url"] == url
        else:
            view = p.bluesky_post_view()
            assert url not in view["record"]["text"]  # shown shortened, like the app does
            uris = [f["features"][0].get("uri") for f in view["record"]["facets"]]
            assert url in uris
            assert view["embed"]["external"]["uri"] == url


def test_a_million_posts_stream_in_bounded_memory() -> None:
    psutil = pytest.importorskip("psutil")
    process = psutil.Process()
    list(generate_posts(seed=5, n=20_000))  # warm up: catalog and model built once
    gc.collect()
    baseline = process.memory_info().rss
    highest = baseline
    start = time.perf_counter()
    count = 0
    kinds: Counter[str] = Counter()
    for post in generate_posts(seed=5, n=1_000_000):
        count += 1
        kinds[post.truth.kind] += 1
        if count % 50_000 == 0:
            highest = max(highest, process.memory_info().rss)
    elapsed = time.perf_counter() - start
    grown_mb = (highest - baseline) / 2**20
    print(f"1,000,000 posts in {elapsed:.1f} s ({count / elapsed:,.0f} posts/s), RSS grew at most {grown_mb:.1f} MB")
    assert count == 1_000_000
    assert grown_mb < 40, f"RSS grew by {grown_mb:.0f} MB: the generator holds posts in memory"
    assert set(kinds) == {"link", "parsed", "query", "none"}
