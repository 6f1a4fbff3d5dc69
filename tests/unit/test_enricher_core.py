"""The enricher's pure core: what a post asks, how it is searched, scored, decided and written."""

from __future__ import annotations

import csv
import io
import json

import pytest
from nowplaying.common.models import ENRICHED_CSV_COLUMNS, ParsedPost
from nowplaying.enricher import core
from nowplaying.enricher.core import Resolution, Row, Track, Want
from nowplaying.enricher.policy import RetryPolicy, retry_after_seconds

ORIGINAL = Track("0" * 22, "Neon Hearts", ("a1",), ("Velvet Owls",), "Neon Hearts", "2019-04-01", None, 201000)


def track(name: str, *artists: str, album: str = "Album", track_id: str = "1" * 22) -> Track:
    return Track(track_id, name, tuple(f"id{i}" for i in range(len(artists))), artists, album)


def parsed(artist: str, title: str, text: str = "") -> Want:
    return Want("parsed", artist=artist, title=title, text=text or f"#NowPlaying {artist} - {title}")


def post(**change: object) -> ParsedPost:
    record: dict[str, object] = {
        "source": "x",
        "post_id": "123",
        "created_at": "2026-11-28T10:00:00Z",
        "author_id": "u1",
        "author_name": None,
        "lang": "en",
        "text": 'Now playing "Neon Hearts", by Velvet Owls',
        "urls": [],
        "raw": {},
        "kind": "parsed",
        "rule": "test",
        "artist": "Velvet Owls",
        "title": "Neon Hearts",
        "query": None,
        "spotify_track_id": None,
        "is_bot": False,
    }
    record.update(change)
    return ParsedPost.from_dict(record)


# --- normalization and keys -------------------------------------------------------------------
def test_norm_folds_case_accents_and_punctuation() -> None:
    assert core.norm("  Beyoncé & JAY-Z!! ") == "beyonce and jay z"
    assert core.norm("Don’t Stop") == "dont stop"
    assert core.norm("ＡＢＣ") == "abc"


def test_equivalent_posts_share_one_cache_key() -> None:
    assert parsed("The Velvet Owls", "NEON HEARTS").key == parsed("velvet owls", "Neon Hearts!").key
    assert parsed("Velvet Owls", "Neon Hearts").key != parsed("Velvet Owls", "Neon Hearts II").key
    assert Want("link", track_id="0" * 22).key == "id:" + "0" * 22


def test_want_of_prefers_the_link_and_skips_non_songs() -> None:
    link = post(kind="link", spotify_track_id="4uLU6hMCjMI75M1A2tKUQC", artist=None, title=None)
    assert core.want_of(link) == Want("link", track_id="4uLU6hMCjMI75M1A2tKUQC", text=link.text)
    from_url = post(kind="link", artist=None, title=None)
    from_url.urls = ["https://open.spotify.com/intl-de/track/4uLU6hMCjMI75M1A2tKUQC?si=x"]
    assert core.want_of(from_url) is not None and core.want_of(from_url).track_id == "4uLU6hMCjMI75M1A2tKUQC"  # type: ignore[union-attr]
    assert core.want_of(post(kind="none", artist=None, title=None)) is None
    query = core.want_of(post(kind="query", artist=None, title=None, query="velvet owls neon hearts"))
    assert query is not None and query.kind == "query"


def test_search_plans_go_from_field_filters_to_free_text() -> None:
    plans = core.search_plans(parsed("Velvet Owls feat. Lia", 'Neon "Hearts" (feat. Lia)'))
    assert plans[0] == ("search_fields", 'track:"Neon Hearts (feat. Lia)" artist:"Velvet Owls"')
    assert ("search_relaxed", 'track:"Neon Hearts" artist:"Velvet Owls"') in plans
    assert ("search_relaxed", "Velvet Owls Neon Hearts") in plans
    assert plans[-2:] == [("search_relaxed", 'track:"Neon Hearts"'), ("search_relaxed", 'artist:"Velvet Owls"')]
    assert core.search_plans(Want("query", query="velvet owls neon hearts")) == [
        ("search_free", "velvet owls neon hearts")
    ]
    assert core.search_plans(Want("link", track_id="0" * 22)) == []


# --- scoring ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "artists"),
    [
        ("Neon Hearts - Remix", ("Velvet Owls",)),
        ("Neon Hearts - Live", ("Velvet Owls",)),
        ("Neon Hearts (Acoustic)", ("Velvet Owls",)),
        ("Neon Hearts - Sped Up", ("Velvet Owls",)),
        ("Neon Hearts (Karaoke Version) [Originally Performed By Velvet Owls]", ("Karaoke Hits Factory",)),
        ("Neon Hearts", ("The Tribute Collective",)),
        ("Neon Hearts II", ("Velvet Owls",)),
        ("Neon Heartbeat", ("Velvet Owls",)),
    ],
)
def test_distractors_are_not_accepted_when_the_post_names_the_original(name: str, artists: tuple[str, ...]) -> None:
    want = parsed("Velvet Owls", "Neon Hearts")
    assert core.score(want, track(name, *artists)) < 0.8
    resolution, chosen = core.decide(want, [track(name, *artists), ORIGINAL], "search_fields", 0.8)
    assert chosen == ORIGINAL and resolution.confidence == 1.0


def test_the_version_the_post_names_is_not_penalized() -> None:
    want = parsed("Velvet Owls", "Neon Hearts (Remix)", text="#NowPlaying Velvet Owls - Neon Hearts (Remix)")
    remix = track("Neon Hearts - Remix", "Velvet Owls")
    resolution, chosen = core.decide(want, [ORIGINAL, remix], "search_fields", 0.8)
    assert chosen == remix and resolution.matched


@pytest.mark.parametrize(
    ("artist", "title", "name", "artists"),
    [
        ("Beyonce feat. Jay Z", "Crazy in Love", "Crazy In Love (feat. Jay-Z)", ("Beyoncé", "JAY-Z")),
        ("Velvet Owls", "Neon Hearst", "Neon Hearts", ("Velvet Owls",)),  # a typo
        ("Neon Hearts", "Velvet Owls", "Neon Hearts", ("Velvet Owls",)),  # "Title - Artist"
        ("Velvet Owls", "Neon Hearts", "Neon Hearts - Remastered 2011", ("The Velvet Owls",)),
        ("ヨルシカ", "ただ君に晴れ", "ただ君に晴れ", ("ヨルシカ",)),
    ],
)
def test_what_the_post_says_is_accepted_despite_noise(
    artist: str, title: str, name: str, artists: tuple[str, ...]
) -> None:
    assert core.score(parsed(artist, title), track(name, *artists)) >= 0.8


def test_free_text_needs_both_title_and_artist() -> None:
    assert core.score(Want("query", query="velvet owls neon hearts"), ORIGINAL) >= 0.9
    assert core.score(Want("query", query="neon hearts"), ORIGINAL) < 0.8
    assert core.score(Want("query", query="RT"), track("RT", "Rey Tarrant")) < 0.8
    assert core.score(Want("query", query="Intro"), track("Intro", "RTB MB")) < 0.8


def test_below_the_threshold_the_post_stays_unmatched_with_its_best_score() -> None:
    resolution, chosen = core.decide(parsed("Velvet Owls", "Neon Hearts"), [track("Neon Hearts", "ATC")], "x", 0.8)
    assert chosen is None and resolution == Resolution(None, resolution.confidence, "none")
    assert core.decide(parsed("a", "b"), [], "search_fields", 0.8)[0] == Resolution(None, 0.0, "none")


def test_bands() -> None:
    assert core.band(Resolution("x", 0.95, "link"), 0.8) == "high"
    assert core.band(Resolution("x", 0.85, "search_fields"), 0.8) == "medium"
    assert core.band(Resolution(None, 0.85, "none"), 0.8) == "low"


# --- API objects ------------------------------------------------------------------------------
def test_track_from_api_and_back() -> None:
    obj = {
        "id": "4uLU6hMCjMI75M1A2tKUQC",
        "name": "Never, Gonna",
        "artists": [{"id": "a1", "name": "Rick, Astley"}, {"id": "a2", "name": "B"}],
        "album": {"name": "Whenever", "release_date": "1987-11-12"},
        "duration_ms": 213573,
    }
    parsed_track = Track.from_api(obj)
    assert parsed_track.popularity is None and parsed_track.duration_ms == 213573
    assert Track.from_json(parsed_track.to_json()) == parsed_track
    with pytest.raises(ValueError, match="'id'"):
        Track.from_api({**obj, "id": "nope"})
    with pytest.raises(ValueError, match="'artists'"):
        Track.from_api({**obj, "artists": []})


def test_features_keep_missing_values_missing() -> None:
    got = core.features_from_api({"danceability": 0.5, "key": 5.0, "energy": None, "tempo": "fast", "mode": True})
    assert got == {"danceability": 0.5, "key": 5}
    assert core.spotify_id_from_href("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC") == (
        "4uLU6hMCjMI75M1A2tKUQC"
    )
    assert core.spotify_id_from_href(None) is None


# --- the CSV ----------------------------------------------------------------------------------
def test_csv_rows_follow_the_contract() -> None:
    matched = Row(
        post(),
        Resolution(ORIGINAL.id, 0.9876, "search_fields"),
        Track(ORIGINAL.id, "Neon, Hearts", ("a1", "a2"), ("Velvet, Owls", "Lia"), "LP", "2019", None, 201000),
        {"danceability": 0.5, "key": 0, "tempo": 120.5},
        "reccobeats",
    )
    unmatched = Row(post(post_id="124", is_bot=True), Resolution(None, 0.4, "none"))
    data = core.render_csv([matched, unmatched]).decode()
    reader = csv.DictReader(io.StringIO(data))
    assert tuple(reader.fieldnames or ()) == ENRICHED_CSV_COLUMNS
    first, second = list(reader)
    assert first["id_tweet"] == "123" and first["url_tweet"] == "https://x.com/i/web/status/123"
    assert first["created_at"] == "2026-11-28T10:00:00.000Z"
    assert json.loads(first["artists_name"]) == ["Velvet, Owls", "Lia"]
    assert json.loads(first["artists_id"]) == ["a1", "a2"]
    assert first["popularity"] == "" and first["duration_ms"] == "201000"
    assert first["key"] == "0" and first["energy"] == "" and first["time_signature"] == ""
    assert (first["match_method"], first["match_confidence"], first["features_source"]) == (
        "search_fields",
        "0.988",
        "reccobeats",
    )
    assert second["id_track"] == "" and second["name"] == "" and second["danceability"] == ""
    assert (second["match_method"], second["match_confidence"], second["is_bot"]) == ("none", "0.400", "true")


def test_post_urls_per_source() -> None:
    mastodon = post(source="mastodon")
    mastodon.raw = {"url": "https://mastodon.social/@a/1"}
    assert core.post_url(mastodon) == "https://mastodon.social/@a/1"
    bluesky = post(source="bluesky")
    bluesky.post_id = "at://did:plc:abc/app.bsky.feed.post/3k2"
    assert core.post_url(bluesky) == "https://bsky.app/profile/did:plc:abc/post/3k2"


# --- the retry policy -------------------------------------------------------------------------
def test_retry_after_and_backoff_are_capped() -> None:
    assert retry_after_seconds({"retry-after": "20000"}) == 20000.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=2.0, rate_limit_max_wait_s=30, jitter=lambda: 1.0)
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert policy.may_wait(5) and not policy.may_wait(20000) and not policy.may_wait(None)


def test_a_post_about_a_version_prefers_that_version() -> None:
    live = track("Neon Hearts - Live", "Velvet Owls")
    want = parsed("Velvet Owls", "Neon Hearts", text="#NowPlaying Velvet Owls - Neon Hearts (Live) 🎶")
    resolution, chosen = core.decide(want, [ORIGINAL, live], "search_fields", 0.8)
    assert chosen == live and resolution.matched


# --- the candidate walk -----------------------------------------------------------------------
def test_readings_of_a_post_keep_their_candidate_index_and_rule() -> None:
    candidates = [
        {"artist": "Radio Nova Velvet Owls", "title": "Neon Hearts", "rule": "split_dash", "confidence": 0.6},
        {"artist": "Radio Nova Velvet Owls", "title": "Neon Hearts", "rule": "duplicate", "confidence": 0.5},
        {"artist": "Velvet Owls", "title": "Neon Hearts", "rule": "drop_station", "confidence": 0.4},
        {"query": "Velvet Owls Neon Hearts", "rule": "free_text", "confidence": 0.2},
    ]
    readings = core.wants_of(post(candidates=candidates))
    assert [index for index, _ in readings] == [0, 2, 3]  # a reading equal to an earlier one is not tried twice
    assert [w.kind for _, w in readings] == ["parsed", "parsed", "query"]
    assert core.reading_rule(post(candidates=candidates), 2) == "drop_station"
    assert [i for i, _ in core.wants_of(post())] == [0]  # no candidates: the post's own reading
    linked = post(kind="link", spotify_track_id="0" * 22, candidates=candidates)
    assert [w.kind for _, w in core.wants_of(linked)] == ["link"]


def _walk(
    readings: list[tuple[int, Want]], cached: dict[str, Resolution], answers: dict[str, list[Track]]
) -> tuple[core.Walk, list[str]]:
    """The walk over ``answers`` (q -> results, the search's answers); returns the walk and the q's searched."""
    searched: list[str] = []
    memo: dict[str, list[Track]] = {}

    def search(q: str) -> list[Track]:
        searched.append(q)
        memo[q] = answers.get(q, [])
        return memo[q]

    return core.walk_readings(readings, cached, memo.get, search, 0.8), searched


def test_the_walk_takes_the_first_reading_the_catalog_confirms() -> None:
    wrong = parsed("Radio Nova Velvet Owls", "Neon Hearts")
    right = parsed("Velvet Owls", "Neon Hearts")
    answers = {q: [ORIGINAL] for _, q in core.search_plans(right)}
    walked, searched = _walk([(0, wrong), (2, right)], {}, answers)
    assert walked.reading == 2 and walked.resolution.track_id == ORIGINAL.id and walked.track == ORIGINAL
    assert walked.searches == len(searched) <= core.MAX_UNCACHED_SEARCHES
    assert walked.verdicts[right.key].track_id == ORIGINAL.id


def test_the_walk_spends_at_most_three_searches_and_settles_only_finished_readings() -> None:
    readings = [(i, parsed(f"Nobody {i}", f"Nothing {i}")) for i in range(4)]
    walked, searched = _walk(readings, {}, {})
    assert len(searched) == core.MAX_UNCACHED_SEARCHES == walked.searches
    assert walked.reading is None and not walked.resolution.matched
    # the strict search of each reading comes first; none of these readings got all its searches
    assert searched == [core.search_plans(w)[0][1] for _, w in readings[:3]]
    assert list(walked.verdicts) == [core.walk_key(readings)]  # only the whole walk is settled
    again, searched = _walk(readings, walked.verdicts, {})
    assert searched == [] and again.resolution == walked.resolution
    queries = [(i, Want("query", query=f"nothing at all {i}")) for i in range(5)]
    walked, searched = _walk(queries, {}, {})
    assert len(searched) == 3
    assert list(walked.verdicts) == [w.key for _, w in queries[:3]] + [core.walk_key(queries)]


def test_the_walk_asks_the_cache_first() -> None:
    first = parsed("Radio Nova Velvet Owls", "Neon Hearts")
    second = parsed("Velvet Owls", "Neon Hearts")
    cached = {second.key: Resolution(ORIGINAL.id, 0.97, core.SEARCH_FIELDS)}
    walked, searched = _walk([(0, first), (1, second)], cached, {})
    assert searched == [] and walked.reading == 1 and walked.resolution.track_id == ORIGINAL.id
    assert walked.track is None  # a cached match names its id; the track comes from the track cache
    # a reading cached as unmatched is skipped without a search
    negative = {first.key: Resolution(None, 0.3, core.NONE)}
    answers = {q: [ORIGINAL] for _, q in core.search_plans(second)}
    walked, searched = _walk([(0, first), (1, second)], negative, answers)
    assert walked.reading == 1 and set(searched) <= {q for _, q in core.search_plans(second)}
    row = core.csv_row(Row(post(candidates=[]), walked.resolution, ORIGINAL, reading=walked.reading))
    assert (row["match_candidate"], row["match_rule"]) == ("1", "test")
    unmatched = core.csv_row(Row(post(), Resolution(None, 0.4, core.NONE)))
    assert (unmatched["match_candidate"], unmatched["match_rule"]) == ("", "")
