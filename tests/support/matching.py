"""Helpers for the matching tests: Spotify track objects with invented names, parsed posts with
ranked candidates, clean batches in a lake, enriched rows read back, the sandbox's search count."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nowplaying.common.config import Settings
from nowplaying.common.lake import FolderLake, new_batch_id
from nowplaying.common.models import ParsedPost
from pydantic import SecretStr

Reading = tuple[str | None, str | None, str | None, str]  # artist, title, query, rule


def spotify_track(track_id: str, name: str, artists: list[tuple[str, str]], album: str) -> dict[str, Any]:
    """A Spotify Web API TrackObject (the fields the sandbox's SANDBOX_CATALOG reads)."""
    people = [{"id": a_id, "name": a_name, "type": "artist"} for a_id, a_name in artists]
    return {
        "type": "track",
        "id": track_id,
        "name": name,
        "artists": people,
        "album": {"id": track_id[::-1], "name": album, "album_type": "album", "release_date": "2011-05-02",
                  "total_tracks": 11, "artists": people[:1]},
        "duration_ms": 201_000,
        "popularity": 41,
        "explicit": False,
        "track_number": 3,
        "external_ids": {"isrc": "GBAAA1100001"},
    }  # fmt: skip


def parsed_post(
    post_id: str,
    text: str,
    readings: list[Reading],
    created_at: str = "2026-12-01T10:00:00Z",
    source: str = "x",
    author_id: str = "station-1",
) -> dict[str, Any]:
    """A parsed post whose candidates are ``readings`` (artist, title, query, rule), best first."""
    first = readings[0]
    return ParsedPost.from_dict(
        {
            "source": source,
            "post_id": post_id,
            "created_at": created_at,
            "author_id": author_id,
            "author_name": None,
            "lang": "en",
            "text": text,
            "urls": [],
            "raw": {},
            "kind": "parsed" if first[0] else "query",
            "rule": first[3],
            "artist": first[0],
            "title": first[1],
            "query": first[2],
            "spotify_track_id": None,
            "is_bot": True,
            "candidates": [
                {"artist": a, "title": t, "query": q, "rule": rule, "confidence": round(0.9 - 0.1 * i, 2)}
                for i, (a, t, q, rule) in enumerate(readings)
            ],
        }
    ).to_dict()


def write_clean(settings: Settings, *posts: dict[str, Any], label: str = "cand") -> str:
    """One clean batch of ``posts``; its batch id."""
    return FolderLake(settings.lake_dir).write_jsonl("clean", new_batch_id(label), list(posts)).batch_id


def enriched_rows(settings: Settings) -> dict[str, dict[str, str]]:
    """Every enriched CSV row by post id (a post in two batches fails: nothing doubled)."""
    lake = FolderLake(settings.lake_dir)
    out: dict[str, dict[str, str]] = {}
    for batch in lake.list_batches("enriched"):
        for row in csv.DictReader(io.StringIO(lake.read_bytes(batch).decode("utf-8"))):
            assert row["post_id"] not in out  # nothing doubled
            out[row["post_id"]] = row
    return out


def search_count(stats: dict[str, Any]) -> int:
    """Spotify search requests in a sandbox's ``/_admin/stats``."""
    return int(stats["requests_by_endpoint"].get("spotify", {}).get("/spotify/api/v1/search", 0))


def sandbox_settings(settings: Settings, base: str, **update: Any) -> Settings:
    """``settings`` pointed at a sandbox's Spotify and ReccoBeats, with fast retries."""
    return settings.model_copy(
        update={
            "spotify_accounts_base": f"{base}/spotify/accounts",
            "spotify_api_base": f"{base}/spotify/api/v1",
            "reccobeats_base": f"{base}/reccobeats",
            "spotify_client_id": "sandbox-client",
            "spotify_client_secret": SecretStr("sandbox-secret"),
            "retry_base_delay_s": 0.01,
            "retry_max_delay_s": 0.05,
            "pushgateway_url": None,
            **update,
        }
    )


def catalog_sandbox(folder: Path, tracks: list[dict[str, Any]]) -> Iterator[Any]:
    """A sandbox (no posts) whose catalog also holds ``tracks`` (a SANDBOX_CATALOG file in ``folder``)."""
    from nowplaying.sandbox.server import start_sandbox
    from nowplaying.sandbox.state import SandboxConfig

    path = folder / "catalog.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tracks), encoding="utf-8")
    running = start_sandbox(SandboxConfig(posts_per_minute=0.0, initial_posts=0, catalog_file=str(path)))
    try:
        yield running
    finally:
        running.stop()
