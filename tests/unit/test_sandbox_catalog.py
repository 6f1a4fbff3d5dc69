"""The fake Spotify catalog and its search."""

from __future__ import annotations

import pytest
from nowplaying.sandbox.catalog import SPOTIFY_ID_RE, Catalog, get_catalog, parse_search_query


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return get_catalog(42)


def test_same_seed_same_catalog() -> None:
    a, b = Catalog(3, n_songs=300), Catalog(3, n_songs=300)
    assert [(t.id, t.name, t.features) for t in a.track_list] == [(t.id, t.name, t.features) for t in b.track_list]
    assert [t.id for t in Catalog(4, n_songs=300).track_list] != [t.id for t in a.track_list]


def test_ids_and_features_look_like_spotify(catalog: Catalog) -> None:
    for track in catalog.track_list:
        assert SPOTIFY_ID_RE.match(track.id)
        f = track.features
        for key in ("danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence"):
            assert 0.0 <= f[key] <= 1.0
        assert -60 < f["loudness"] <= 0 and 40 < f["tempo"] < 260 and -1 <= f["key"] <= 11
        assert f["mode"] in (0, 1) and f["time_signature"] in (3, 4, 5)
    assert 0.8 < sum(t.reccobeats_id is not None for t in catalog.track_list) / len(catalog) < 0.95


def test_hard_distractors_exist(catalog: Catalog) -> None:
    variants = {t.variant for t in catalog.track_list}
    assert {"original", "remix", "live", "acoustic", "sped_up", "karaoke", "cover", "trap"} <= variants
    # the same title by other artists
    by_title: dict[str, set[str]] = {}
    for t in catalog.track_list:
        by_title.setdefault(t.name, set()).update(t.artist_ids)
    assert sum(len(a) > 1 for a in by_title.values()) > 100


def test_field_search_is_case_and_accent_insensitive(catalog: Catalog) -> None:
    song = next(s for s in catalog.songs if s.track_id and any(c in s.artist for c in "áéíóúñçãö"))
    q = f'track:"{song.title.upper()}" artist:"{song.artist.lower()}"'
    plain = q.translate(str.maketrans("áéíóúñçãöÁÉÍÓÚÑÇÃÖ", "aeiouncaoAEIOUNCAO"))
    for query in (q, plain):
        found = [t.id for t in catalog.search_tracks(query)]
        assert song.track_id in found


def test_ranking_mostly_right_but_distractors_compete(catalog: Catalog) -> None:
    in_catalog = [s for s in catalog.songs if s.track_id][:1500]
    first = top5 = 0
    for s in in_catalog:
        found = catalog.search_tracks(f"{s.artist} {s.title}")
        first += bool(found) and found[0].id == s.track_id
        top5 += s.track_id in [t.id for t in found[:5]]
    assert 0.5 < first / len(in_catalog) < 0.95  # not always first ...
    assert top5 / len(in_catalog) > 0.97  # ... but always among the plausible hits


def test_traps_the_seed_fell_into(catalog: Catalog) -> None:
    names = [t.name for t in catalog.search_tracks("RT")]
    assert "RT" in names
    assert catalog.search_tracks('track:"nothing like this" artist:"nobody"') == []


def test_query_parsing() -> None:
    parsed = parse_search_query('remaster track:"Around the World" artist:Daft year:1997-1999')
    assert parsed == {"track": "Around the World", "artist": "Daft", "year": "1997-1999", "free": "remaster"}
