"""Synthetic enriched CSV batches (the enricher's output contract), for tests and benchmarks.

    from tests.support.enriched_csv import write_enriched_csv, write_enriched_batch

    rows = write_enriched_csv(path, 10_000, seed=1)            # a CSV file, the rows back as dicts
    path, rows = write_enriched_batch(lake_dir, 10_000, seed=1)  # enriched/<day>/<batch_id>.csv

Every row has exactly ``ENRICHED_CSV_COLUMNS``, as strings, the way the enricher writes them:
``created_at`` RFC 3339 UTC with milliseconds; several artists as a JSON array of strings, one artist
as the plain value; unmatched rows with empty track, feature and album columns and match_method
``none``; matched rows (other than links) with the reading that matched (``match_candidate``,
``match_rule``); missing audio features empty (never 0); ``is_bot`` ``true``/``false``.

The data is a pure function of the arguments (same seed -> same bytes). Track popularity follows a
Zipf-like law, so the top of a chart is stable and meaningful; bots post from a small pool of
accounts; texts contain commas, quotes, newlines and non-ASCII characters to exercise CSV quoting.
Post ids are unique within one seed (``seed`` * 10**10 + row index), so files with different seeds
never collide.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nowplaying.common.lake import FolderLake, new_batch_id
from nowplaying.common.models import ENRICHED_CSV_COLUMNS, format_rfc3339

DEFAULT_START = datetime(2026, 3, 1, tzinfo=UTC)
_READING_RULES = ("separator_dash", "swapped_order", "title_cut_at_clause")
DEFAULT_END = datetime(2026, 3, 2, tzinfo=UTC)

_BASE62 = string.digits + string.ascii_letters
_WORDS = (
    "love", "night", "summer", "fire", "blue", "dream", "heart", "city", "gold", "rain", "dance",
    "light", "home", "wild", "road", "moon", "sugar", "ocean", "echo", "ghost", "river", "neon",
    "Café", "Señorita", "Æther", "Straße", "Ночь", "夜", "don't", "rock, paper",
)  # fmt: skip
_MATCH_METHODS = ("link", "search_fields", "search_relaxed", "search_free", "cache")
_SOURCES = ("x", "mastodon", "bluesky")


@dataclass(frozen=True)
class _Track:
    track_id: str
    name: str
    artist_ids: tuple[str, ...]
    artist_names: tuple[str, ...]
    album: str
    release_date: str
    popularity: str
    duration_ms: str
    features: dict[str, str] | None  # None: no audio features known for this track
    features_source: str


def _spotify_id(rng: random.Random) -> str:
    return "".join(rng.choice(_BASE62) for _ in range(22))


def _title(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).title()


def _multi(values: tuple[str, ...]) -> str:
    """One value plain, several as a JSON array of strings (the enricher's contract)."""
    if len(values) == 1:
        return values[0]
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def _catalogue(rng: random.Random, n_tracks: int) -> list[_Track]:
    n_artists = max(1, n_tracks // 3)
    artists = [(_spotify_id(rng), f"{_title(rng, rng.randint(1, 2))} {i}") for i in range(n_artists)]
    tracks: list[_Track] = []
    for index in range(n_tracks):
        credited = rng.sample(artists, k=min(len(artists), rng.choice((1, 1, 1, 1, 2, 2, 3))))
        features: dict[str, str] | None = None
        source = ""
        if rng.random() < 0.9:
            source = rng.choice(("reccobeats", "reccobeats", "spotify"))
            features = {
                "danceability": f"{rng.random():.3f}",
                "energy": f"{rng.random():.3f}",
                "key": str(rng.randint(0, 11)),
                "loudness": f"{rng.uniform(-30, 0):.3f}",
                "speechiness": f"{rng.random() * 0.5:.4f}",
                "acousticness": f"{rng.random():.4f}",
                "instrumentalness": f"{rng.random() ** 4:.3g}",
                "liveness": f"{rng.random() * 0.6:.4f}",
                "valence": f"{rng.random():.3f}",
                "tempo": f"{rng.uniform(60, 200):.3f}",
                "time_signature": rng.choice(("3", "4", "4", "4", "5")),
                "mode": rng.choice(("0", "1")),
            }
        year = rng.randint(1965, 2026)
        full_date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        tracks.append(
            _Track(
                track_id=_spotify_id(rng),
                name=f"{_title(rng, rng.randint(1, 3))} #{index}",
                artist_ids=tuple(a[0] for a in credited),
                artist_names=tuple(a[1] for a in credited),
                album=_title(rng, rng.randint(1, 3)),
                release_date=full_date if rng.random() < 0.8 else str(year),
                popularity="" if rng.random() < 0.3 else str(rng.randint(0, 100)),
                duration_ms=str(rng.randint(90_000, 420_000)),
                features=features,
                features_source=source,
            )
        )
    return tracks


def _text(rng: random.Random, track: _Track | None, newlines: bool) -> str:
    sep = "\n" if newlines else " "
    if track is None:
        return rng.choice(
            (
                f"#NowPlaying {_title(rng, 2)} live on air",
                f'#nowplaying "{_title(rng, 2)}", what a tune{sep}second line',
                f"listening to {_title(rng, 3)} 🎶 #NowPlaying",
            )
        )
    artist = track.artist_names[0]
    return rng.choice(
        (
            f"#NowPlaying {artist} - {track.name}",
            f'#nowplaying "{track.name}" by {artist}, on repeat',
            f"{track.name} — {artist} 🎧 #NowPlaying{sep}https://open.spotify.com/track/{track.track_id}",
        )
    )


def _url(source: str, author: str, post_id: str) -> str:
    if source == "x":
        return f"https://x.com/{author}/status/{post_id}"
    if source == "mastodon":
        return f"https://mastodon.social/@{author}/{post_id}"
    return f"https://bsky.app/profile/{author}.bsky.social/post/{post_id}"


def enriched_rows(
    n_rows: int,
    seed: int = 1,
    start: datetime = DEFAULT_START,
    end: datetime = DEFAULT_END,
    n_tracks: int = 500,
    bot_share: float = 0.1,
    matched_share: float = 0.8,
    *,
    newlines: bool = True,
    dev_mode: bool = False,
) -> Iterator[dict[str, str]]:
    """Yield ``n_rows`` enriched CSV rows (dicts keyed by ``ENRICHED_CSV_COLUMNS``), created_at in [start, end).

    ``dev_mode``: as the enricher writes them under Spotify's Development Mode, with no popularity."""
    if n_rows < 0 or n_tracks < 1:
        raise ValueError("n_rows must be >= 0 and n_tracks >= 1")
    if end <= start:
        raise ValueError("end must be after start")
    rng = random.Random(seed)
    tracks = _catalogue(rng, n_tracks)
    cum_weights: list[float] = []
    total = 0.0
    for rank in range(n_tracks):
        total += 1.0 / (rank + 1)
        cum_weights.append(total)
    n_people = max(10, n_rows // 20)
    bots = [f"radio_{i}" for i in range(max(1, n_people // 100))]
    span_ms = int((end - start).total_seconds() * 1000)
    empty_features = dict.fromkeys(
        ("danceability", "energy", "key", "loudness", "speechiness", "acousticness", "instrumentalness",
         "liveness", "valence", "tempo", "time_signature", "mode"),
        "",
    )  # fmt: skip
    for index in range(n_rows):
        post_id = str(seed * 10**10 + index)
        source = rng.choice(_SOURCES)
        is_bot = rng.random() < bot_share
        author = rng.choice(bots) if is_bot else f"user_{rng.randrange(n_people)}"
        created = start + timedelta(milliseconds=rng.randrange(max(1, span_ms)))
        track: _Track | None = None
        if rng.random() < matched_share:
            track = rng.choices(tracks, cum_weights=cum_weights)[0]
        row: dict[str, str] = {
            "id_tweet": post_id,
            "text": _text(rng, track, newlines),
            "created_at": format_rfc3339(created),
            "url_tweet": _url(source, author, post_id),
        }
        if track is None:
            row.update(
                id_track="", name="", popularity="", artists_id="", artists_name="", **empty_features, duration_ms=""
            )
            extra = {"album": "", "release_date": "", "match_method": "none", "match_confidence": "",
                     "features_source": ""}  # fmt: skip
        else:
            row.update(
                id_track=track.track_id,
                name=track.name,
                popularity="" if dev_mode else track.popularity,
                artists_id=_multi(track.artist_ids),
                artists_name=_multi(track.artist_names),
                **(track.features or empty_features),
                duration_ms=track.duration_ms,
            )
            extra = {
                "album": track.album,
                "release_date": track.release_date,
                "match_method": rng.choice(_MATCH_METHODS),
                "match_confidence": f"{rng.uniform(0.8, 1.0):.3f}",
                "features_source": track.features_source,
            }
        lang = ("en", "es", "")[index % 3]  # no rng draw: the other columns stay what they were
        row.update(source=source, post_id=post_id, author_id=author, **extra, is_bot="true" if is_bot else "false",
                   lang=lang)  # fmt: skip
        # which reading matched: derived from the index (no draw from rng: the stream stays as it was)
        matched_reading = track is not None and row["match_method"] != "link"
        row["match_candidate"] = str(index % 3) if matched_reading else ""
        row["match_rule"] = _READING_RULES[index % 3] if matched_reading else ""
        yield {column: row[column] for column in ENRICHED_CSV_COLUMNS}


def write_enriched_csv(
    path: Path | str,
    n_rows: int,
    seed: int = 1,
    start: datetime = DEFAULT_START,
    end: datetime = DEFAULT_END,
    n_tracks: int = 500,
    bot_share: float = 0.1,
    matched_share: float = 0.8,
    *,
    return_rows: bool = True,
    newlines: bool = True,
    dev_mode: bool = False,
) -> list[dict[str, str]]:
    """Write an enriched CSV (header = ``ENRICHED_CSV_COLUMNS``) atomically; return its rows.

    For millions of rows pass ``return_rows=False`` (the list is then empty) to keep memory flat.
    ``newlines=False`` keeps every record on one physical line (tools such as cqlsh COPY split
    their input by lines and fail records with embedded newlines).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}"
    kept: list[dict[str, str]] = []
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENRICHED_CSV_COLUMNS)
        buffer = io.StringIO()
        chunk = csv.writer(buffer, lineterminator="\n")
        for number, row in enumerate(
            enriched_rows(
                n_rows, seed, start, end, n_tracks, bot_share, matched_share, newlines=newlines, dev_mode=dev_mode
            ),
            start=1,
        ):
            chunk.writerow(row.values())
            if return_rows:
                kept.append(row)
            if number % 10_000 == 0:
                handle.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return kept


def write_enriched_batch(
    lake_dir: Path | str,
    n_rows: int,
    seed: int = 1,
    start: datetime = DEFAULT_START,
    end: datetime = DEFAULT_END,
    n_tracks: int = 500,
    bot_share: float = 0.1,
    matched_share: float = 0.8,
    *,
    batch_id: str | None = None,
    return_rows: bool = True,
    newlines: bool = True,
    dev_mode: bool = False,
) -> tuple[Path, list[dict[str, str]]]:
    """Write a batch where the loader looks for it: ``<lake>/enriched/<day>/<batch_id>.csv``."""
    batch_id = batch_id or new_batch_id(f"synthetic-{seed}")
    path = FolderLake(lake_dir).path_for("enriched", batch_id)
    rows = write_enriched_csv(
        path, n_rows, seed, start, end, n_tracks, bot_share, matched_share, return_rows=return_rows, newlines=newlines,
        dev_mode=dev_mode,
    )  # fmt: skip
    return path, rows
