"""Spotify in the sandbox, driven with spotipy (the enricher's client)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOauthError


def client(sandbox: Any, client_id: str = "sandbox-client", secret: str = "sandbox-secret") -> spotipy.Spotify:
    auth = SpotifyClientCredentials(client_id, secret, cache_handler=MemoryCacheHandler(), requests_timeout=5)
    auth.OAUTH_TOKEN_URL = sandbox.urls["SPOTIFY_ACCOUNTS_BASE"] + "/api/token"
    # A plain requests session: no urllib3 Retry, so a 429 reaches us with its Retry-After header.
    sp = spotipy.Spotify(auth_manager=auth, requests_session=requests.Session(), retries=0, requests_timeout=5)
    sp.prefix = sandbox.urls["SPOTIFY_API_BASE"] + "/"
    return sp


def a_song(sandbox: Any, **want: bool) -> Any:
    for song in sandbox.state.catalog.songs:
        if song.track_id and all(bool(song.variant_ids) == v for v in want.values()):
            return song
    raise AssertionError("no such song")


def test_token_with_basic_auth_and_bad_client(sandbox: Any) -> None:
    sp = client(sandbox)
    info = sp.auth_manager.get_access_token(as_dict=True)
    assert info["token_type"] == "Bearer" and info["expires_in"] == 3600
    with pytest.raises(SpotifyOauthError, match="invalid_client"):
        client(sandbox, secret="wrong").search("anything")


def test_expired_and_invalid_tokens_get_401(sandbox: Any) -> None:
    sp = client(sandbox)
    sp.search("love", limit=1)
    sandbox.admin("POST", "/expire-tokens")
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.search("love", limit=1)  # spotipy still believes its token is valid
    assert caught.value.http_status == 401 and "The access token expired" in caught.value.msg
    forged = spotipy.Spotify(auth="not-a-token", requests_session=requests.Session(), requests_timeout=5)
    forged.prefix = sp.prefix
    with pytest.raises(spotipy.SpotifyException) as caught:
        forged.track(a_song(sandbox).track_id)
    assert caught.value.http_status == 401 and "Invalid access token" in caught.value.msg


def test_search_with_field_filters_and_paging(sandbox: Any) -> None:
    sp = client(sandbox)
    song = a_song(sandbox, variants=True)
    result = sp.search(f'track:"{song.title}" artist:"{song.artist}"', type="track", limit=10, market="US")
    items = result["tracks"]["items"]
    assert song.track_id in [t["id"] for t in items]
    assert all(song.artist in [a["name"] for a in t["artists"]] for t in items)
    # free text finds more: covers, karaoke, the same title by others; paging walks through them
    query = song.title
    first = sp.search(query, type="track", limit=5)
    total = first["tracks"]["total"]
    assert total > 0
    collected = [t["id"] for t in first["tracks"]["items"]]
    page = first["tracks"]
    while page["next"]:
        page = sp.next(page)["tracks"]
        collected.extend(t["id"] for t in page["items"])
    assert len(collected) == total == len(set(collected))
    empty = sp.search('track:"zzqxj nothing" artist:"nobody at all"', type="track")
    assert empty["tracks"]["items"] == [] and empty["tracks"]["total"] == 0


def test_development_mode_restrictions(sandbox: Any) -> None:
    sp = client(sandbox)
    song = a_song(sandbox)
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.search(song.title, limit=11)
    assert caught.value.http_status == 400 and "Invalid limit" in caught.value.msg
    default = sp._get("search", q=song.title, type="track")  # no limit: 5 in Development Mode
    assert default["tracks"]["limit"] == 5
    track = sp.track(song.track_id)
    assert track["id"] == song.track_id and track["name"] == song.title
    assert "popularity" not in track and "external_ids" not in track and "available_markets" not in track
    artist = sp.artist(track["artists"][0]["id"])
    assert artist["name"] == song.artist and "followers" not in artist and "popularity" not in artist
    for call in (lambda: sp.tracks([song.track_id]), lambda: sp.artists([track["artists"][0]["id"]])):
        with pytest.raises(spotipy.SpotifyException) as caught:
            call()
        assert caught.value.http_status == 403
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.audio_features([song.track_id])
    assert caught.value.http_status == 403


def test_extended_quota_mode(sandbox: Any) -> None:
    sandbox.configure(dev_mode=False)
    sp = client(sandbox)
    songs = [s for s in sandbox.state.catalog.songs if s.track_id][:3]
    ids = [s.track_id for s in songs]
    tracks = sp.tracks([*ids, "0000000000000000000000"])["tracks"]  # spotipy calls tracks/?ids=
    assert [t["id"] for t in tracks[:3]] == ids and tracks[3] is None
    assert all("popularity" in t and t["external_ids"]["isrc"] for t in tracks[:3])
    artists = sp.artists([tracks[0]["artists"][0]["id"]])["artists"]
    assert "followers" in artists[0] and "popularity" in artists[0]
    features = sp.audio_features(ids)
    assert [f["id"] for f in features] == ids
    assert all(0 <= f["danceability"] <= 1 and f["time_signature"] in (3, 4, 5) for f in features)
    assert sp.search(songs[0].title, limit=50)["tracks"]["limit"] == 50
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.search(songs[0].title, limit=51)
    assert caught.value.http_status == 400


def test_bad_ids_and_unknown_tracks(sandbox: Any) -> None:
    sp = client(sandbox)
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.track("0000000000000000000000")
    assert caught.value.http_status == 404
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp._get("tracks/short-id")
    assert caught.value.http_status == 400 and "Invalid base62 id" in caught.value.msg


def test_rate_limit_429_with_retry_after(sandbox: Any) -> None:
    sp = client(sandbox)
    sp.search("love", limit=1)  # token fetched
    sandbox.configure(limits={"spotify": {"limit": 2, "window_s": 30}})
    sp.search("love", limit=1)
    sp.search("love", limit=1)
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.search("love", limit=1)
    assert caught.value.http_status == 429
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 30


def test_absurd_retry_after_does_not_hang_a_client_with_retries_off(sandbox: Any) -> None:
    sp = client(sandbox)
    sp.search("love", limit=1)
    sandbox.set_faults("spotify:429long:n1")
    start = time.monotonic()
    with pytest.raises(spotipy.SpotifyException) as caught:
        sp.search("love", limit=1)
    assert time.monotonic() - start < 3
    assert caught.value.http_status == 429 and caught.value.headers["Retry-After"] == "20000"
    assert sp.search("love", limit=1)["tracks"] is not None  # the next request is fine again
