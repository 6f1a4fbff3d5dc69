"""`make bench BENCH=match-quality`: end-to-end matching on the hand-labelled development set (issue 19).

Every labelled post of ``bench/data/*_posts.jsonl`` (rows with ``ref`` + ``text_sha256`` take their text
from ../shared/data and are skipped when it is absent or the text's hash differs) goes through the real
parts: ``nowplaying clean --in/--out`` (the cleaner), then the enrich stage (``run_once``: the real
Spotify client, the match cache in a throwaway Cassandra keyspace) against the real sandbox HTTP
server, whose catalog gets ``SANDBOX_CATALOG`` = a JSON Lines file of Spotify track objects built here:

* the labelled songs: the real track object when ../shared/data holds one with the label's artist and
  title, else one made from the label (its artist credit split into artists the way Spotify lists them);
* real distractors from ../shared/data (the Web API track objects, the original project's history and
  the link tweets' tracks): the other tracks of the labelled artists, and tracks with a labelled title
  by other artists.

Scoring (per half of ``bench/split.py``'s hash split): a song post with a labelled artist is right when
its play's track is the label's (or another release of it: the same name by the same main artist; a
post that links its track names the label track's id); ``kind: none`` posts must stay unmatched; song posts without a
labelled artist (a template that names only the title) are run but not scored. Precision = right /
matched, recall = right / labelled songs. The baseline is the same run with each post's first reading
only (``candidates`` cut to one), so the gain of the candidate walk is measured in the same run.

Needs Cassandra (``CASSANDRA_HOSTS``/``CASSANDRA_PORT``, default the local node).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, progress
from bench.split import HALVES, SPLIT_RULE, half_of
from bench.support import NOWPLAYING, bench_keyspace, sandbox_process

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "bench" / "data"
DATA = Path(os.environ.get("NOWPLAYING_SHARED_DATA", ROOT.parent / "shared" / "data"))
TARGETS = {"precision": (97.0, ">= 97%"), "recall": (85.0, ">= 85%")}
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# How a label's artist credit splits into the artists Spotify would list.
_SPOTIFY_TRACK = re.compile(r"open\.spotify\.com/(?:intl-[a-z]{2}/)?track/([0-9A-Za-z]{22})")
_CREDIT_SPLIT = re.compile(r"\s*(?:,|;|&|\bfeat\.?|\bft\.?|\bfeaturing\b|\bvs\.?)\s*", re.IGNORECASE)


@dataclass
class Labelled:
    post_id: str
    text: str
    urls: list[str]
    kind: str  # song | none
    artist: str | None
    title: str | None
    stratum: str
    half: str


# --- the labelled set ----------------------------------------------------------------------------
class SharedTexts:
    """Texts of ../shared/data rows named by a dev-set ``ref`` (files read once)."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}

    def text(self, ref: dict[str, Any]) -> str | None:
        name = str(ref["file"])
        path = DATA / name
        if not path.exists():
            return None
        if name not in self._files:
            self._files[name] = self._read(path)
        rows = self._files[name]
        line = int(str(ref["line"]))
        return rows[line - 1] if 0 < line <= len(rows) else None

    @staticmethod
    def _read(path: Path) -> list[str]:
        if path.suffix == ".jsonl":
            return [str(json.loads(raw)["text"]) for raw in path.read_text(encoding="utf-8").splitlines()]
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                return [row["text"] for row in csv.DictReader(handle)]
        pages = json.loads(path.read_text(encoding="utf-8"))
        return [str(t["text"]) for page in pages for t in page["tweets"]]


def labelled_posts() -> tuple[list[Labelled], int]:
    """The dev set's posts (both halves) and how many rows were skipped (shared text absent or changed)."""
    shared = SharedTexts()
    out: list[Labelled] = []
    skipped = 0
    for path in sorted(DEVSET.glob("*_posts.jsonl")):
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(raw)
            text = row.get("text")
            if text is None and "ref" in row:
                text = shared.text(row["ref"])
                if text is None or hashlib.sha256(text.encode("utf-8")).hexdigest() != row.get("text_sha256"):
                    skipped += 1
                    continue
            if not isinstance(text, str):
                skipped += 1
                continue
            out.append(
                Labelled(
                    post_id=f"mq-{path.stem}-{number}",
                    text=text,
                    urls=list(row.get("urls") or []),
                    kind=str(row["kind"]),
                    artist=row.get("artist") or None,
                    title=row.get("title") or None,
                    stratum=str(row.get("stratum") or path.stem),
                    half=half_of(text),
                )
            )
    return out, skipped


# --- the catalog ---------------------------------------------------------------------------------
def _id(*parts: str) -> str:
    value = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:17], "big")
    chars = []
    for _ in range(22):
        value, rem = divmod(value, 62)
        chars.append(BASE62[rem])
    return "".join(chars)


def track_object(
    track_id: str, name: str, artists: list[tuple[str, str]], album: str = "", **extra: Any
) -> dict[str, Any]:
    """A Spotify Web API track object (the fields the sandbox reads)."""
    artist_objects = [{"id": a_id, "name": a_name, "type": "artist"} for a_id, a_name in artists]
    return {
        "type": "track",
        "id": track_id,
        "name": name,
        "artists": artist_objects,
        "album": {
            "id": _id("album", track_id),
            "name": album,
            "album_type": "album",
            "release_date": extra.pop("release_date", "2000-01-01"),
            "total_tracks": 1,
            "artists": artist_objects[:1],
        },
        "duration_ms": extra.pop("duration_ms", 200_000),
        "popularity": extra.pop("popularity", 50),
        **extra,
    }


def _pg_array(value: str) -> list[str]:
    """'{a,"b, c"}' (the history file's arrays) -> ['a', 'b, c']."""
    inner = value.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    return [v for v in next(csv.reader([inner], skipinitialspace=True), []) if v]


def real_tracks() -> list[dict[str, Any]]:
    """Real Spotify tracks of ../shared/data as track objects, one per id (empty when it is absent)."""
    found: dict[str, dict[str, Any]] = {}
    path = DATA / "spotify_api_track_objects_2022.json"
    if path.exists():
        for pair in json.loads(path.read_text(encoding="utf-8")):
            for obj in pair:
                if isinstance(obj, dict) and obj.get("type") == "track" and isinstance(obj.get("id"), str):
                    found.setdefault(obj["id"], obj)
    path = DATA / "original_project_history_2022.csv"
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                ids, names = _pg_array(row["artists_id"]), _pg_array(row["artists_name"])
                if row["id_track"] and row["name"] and ids and len(ids) == len(names):
                    popularity = int(row["popularity"]) if row["popularity"].isdigit() else 50
                    found.setdefault(
                        row["id_track"],
                        track_object(
                            row["id_track"], row["name"], list(zip(ids, names, strict=True)), popularity=popularity
                        ),
                    )
    path = DATA / "spotify_link_tweets_2022_us.csv"
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                track_id, name, artist = row["spotify_track_id"], row["song_name"], row["artist"]
                if track_id and name and artist:
                    found.setdefault(
                        track_id, track_object(track_id, name, [(_id("artist", artist), artist)], row["album"])
                    )
    return [t for t in found.values() if re.fullmatch(r"[0-9A-Za-z]{22}", t["id"])]


def build_catalog(posts: list[Labelled]) -> tuple[list[dict[str, Any]], dict[str, str], Counter[str]]:
    """(track objects for SANDBOX_CATALOG, the truth track id by post id, counts by origin)."""
    from nowplaying.enricher.core import base_title, norm, norm_artist

    reals = real_tracks()

    def artist_keys(names: list[str]) -> set[str]:
        keys = {norm_artist(" ".join(names))}
        for name in names:
            keys |= {norm_artist(name)} | {norm_artist(p) for p in _CREDIT_SPLIT.split(name) if p.strip()}
        return keys - {""}

    by_id = {t["id"]: t for t in reals}
    by_pair: dict[tuple[str, str], dict[str, Any]] = {}
    for track in reals:
        names = [a["name"] for a in track["artists"]]
        for key in artist_keys(names):
            by_pair.setdefault((key, norm(track["name"])), track)

    catalog: dict[str, dict[str, Any]] = {}
    origin: Counter[str] = Counter()
    truth: dict[str, str] = {}
    label_artists: set[str] = set()
    label_titles: set[str] = set()
    for post in posts:
        if post.kind != "song" or not post.artist or not post.title:
            continue
        credit = [p for p in _CREDIT_SPLIT.split(post.artist) if p.strip()] or [post.artist]
        label_artists |= artist_keys([post.artist])
        label_titles.add(norm(base_title(post.title)))
        linked = next((m.group(1) for u in post.urls for m in [_SPOTIFY_TRACK.search(u)] if m), None)
        real = by_id.get(linked or "") or by_pair.get((norm_artist(post.artist), norm(post.title)))
        real = real or by_pair.get((norm_artist(credit[0]), norm(post.title)))
        if real is not None:
            track = real
            if track["id"] not in catalog:
                origin["label (real track object)"] += 1
        else:
            # a post that links its track names the real id (the link decides, as on Spotify)
            track_id = linked or _id("label", norm_artist(post.artist), norm(post.title))
            track = catalog.get(track_id) or track_object(
                track_id, post.title, [(_id("artist", norm_artist(a)), a.strip()) for a in credit]
            )
            if track_id not in catalog:
                origin["label (made from the label)"] += 1
        catalog[track["id"]] = track
        truth[post.post_id] = track["id"]
    for track in reals:
        if track["id"] in catalog:
            continue
        names = [a["name"] for a in track["artists"]]
        if artist_keys(names) & label_artists:
            catalog[track["id"]] = track
            origin["distractor: another track of a labelled artist"] += 1
        elif norm(base_title(track["name"])) in label_titles:
            catalog[track["id"]] = track
            origin["distractor: a labelled title by another artist"] += 1
    return list(catalog.values()), truth, origin


# --- the pipeline --------------------------------------------------------------------------------
def _post_record(post: Labelled) -> dict[str, Any]:
    return {
        "source": "x",
        "post_id": post.post_id,
        "created_at": "2026-12-01T12:00:00Z",
        "author_id": f"author-{post.post_id}",
        "author_name": None,
        "lang": None,
        "text": post.text,
        "urls": post.urls,
        "is_repost": False,
        "raw": {},
    }


def clean(posts: list[Labelled], workdir: Path) -> list[dict[str, Any]]:
    """The posts through ``nowplaying clean --in/--out``: the ParsedPost records, in order."""
    source, target = workdir / "posts.jsonl", workdir / "parsed.jsonl"
    source.write_text("".join(json.dumps(_post_record(p), ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    command = [NOWPLAYING, "clean", "--in", str(source), "--out", str(target)]
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LOG_LEVEL": "WARNING"})
    if proc.returncode != 0:
        raise RuntimeError(f"nowplaying clean failed ({proc.returncode}): {proc.stderr[-500:]}")
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]


def enrich(
    records: list[dict[str, Any]], base: str, lake_dir: Path, label: str
) -> tuple[dict[str, dict[str, str]], Any]:
    """The records as one clean batch through the enrich stage in a fresh keyspace: CSV rows by post id."""
    from nowplaying.common.cassandra import connect, shutdown
    from nowplaying.common.lake import FolderLake, new_batch_id
    from nowplaying.enricher.service import run_once

    lake = FolderLake(lake_dir)
    lake.write_jsonl("clean", new_batch_id(label), records)
    with bench_keyspace(f"match_{label}") as settings:
        settings = settings.model_copy(
            update={
                "lake_dir": lake_dir,
                "spotify_accounts_base": f"{base}/spotify/accounts",
                "spotify_api_base": f"{base}/spotify/api/v1",
                "spotify_client_id": "sandbox-client",
                "spotify_client_secret": SecretStr("sandbox-secret"),
                "reccobeats_base": f"{base}/reccobeats",
                "log_level": "WARNING",
            }
        )
        session = connect(settings)
        try:
            summary = run_once(settings, session)
        finally:
            shutdown(session)
    if summary.status != "ok":
        raise RuntimeError(f"enrich run ended {summary.status}: {summary.stopped}")
    rows: dict[str, dict[str, str]] = {}
    for batch in lake.list_batches("enriched"):
        for row in csv.DictReader(io.StringIO(lake.read_bytes(batch).decode("utf-8"))):
            rows[row["post_id"]] = row
    return rows, summary


def same_song(got: dict[str, Any] | None, want: dict[str, Any] | None) -> bool:
    """The same song: the same track, or another release of it (same name, same main artist), as the
    real data holds for some songs (an album track and its single)."""
    from nowplaying.enricher.core import norm, norm_artist

    if got is None or want is None:
        return False
    if got["id"] == want["id"]:
        return True
    return norm(got["name"]) == norm(want["name"]) and norm_artist(got["artists"][0]["name"]) == norm_artist(
        want["artists"][0]["name"]
    )


def score(
    posts: list[Labelled], truth: dict[str, str], rows: dict[str, dict[str, str]], catalog: dict[str, dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Per half: matched, right, labelled songs, precision and recall (%), matches by a later reading."""
    out: dict[str, dict[str, float]] = {}
    for half in HALVES:
        matched = right = songs = later = 0
        for post in posts:
            if post.half != half or (post.kind == "song" and post.post_id not in truth):
                continue  # a song without a labelled artist is run, not scored
            row = rows.get(post.post_id, {})
            got = row.get("id_track") or ""
            songs += post.kind == "song"
            if got:
                matched += 1
                right += same_song(catalog.get(got), catalog.get(truth.get(post.post_id, "")))
                later += (row.get("match_candidate") or "0") != "0"
        out[half] = {
            "matched": matched,
            "right": right,
            "songs": songs,
            "precision": 100.0 * right / matched if matched else 0.0,
            "recall": 100.0 * right / songs if songs else 0.0,
            "later_reading": later,
        }
    return out


def run() -> list[Result]:
    from nowplaying.common.logging import configure_logging

    configure_logging("WARNING", "json")
    posts, skipped = labelled_posts()
    if not posts:
        progress("no labelled posts found: nothing to measure")
        return []
    catalog, truth, origin = build_catalog(posts)
    progress(
        f"{len(posts)} labelled posts ({skipped} skipped: shared text absent or changed), "
        f"catalog file of {len(catalog)} tracks: " + ", ".join(f"{k} {v}" for k, v in sorted(origin.items()))
    )
    with tempfile.TemporaryDirectory(prefix="np-bench-match-") as tmp:
        workdir = Path(tmp)
        catalog_file = workdir / "catalog.jsonl"
        catalog_file.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in catalog), encoding="utf-8")
        progress("cleaning through `nowplaying clean --in/--out`")
        records = clean(posts, workdir)
        first_only = [{**r, "candidates": (r.get("candidates") or [])[:1]} for r in records]
        with_candidates = sum(1 for r in records if len(r.get("candidates") or []) > 1)
        with sandbox_process(SANDBOX_CATALOG=str(catalog_file), SANDBOX_DEV_MODE="true") as base:
            stats = requests.get(base + "/_admin/stats", timeout=30).json()["corpus"]
            if stats["catalog_file_errors"]:
                raise RuntimeError(f"catalog lines refused: {stats['catalog_file_errors'][:3]}")
            requests.post(
                base + "/_admin/config",
                json={"limits": {"spotify": {"limit": 10**9}, "reccobeats": {"limit": 10**9}}},
                timeout=10,
            ).raise_for_status()
            progress(f"enrich with the candidate walk ({with_candidates} posts have more than one reading)")
            walk_rows, walk_run = enrich(records, base, workdir / "lake-walk", "walk")
            progress("enrich with the first reading only (the baseline)")
            first_rows, first_run = enrich(first_only, base, workdir / "lake-first", "first")
    by_id = {t["id"]: t for t in catalog}
    walk, first = score(posts, truth, walk_rows, by_id), score(posts, truth, first_rows, by_id)
    params: dict[str, Any] = {
        "posts": len(posts),
        "skipped": skipped,
        "scored_songs": sum(walk[h]["songs"] for h in HALVES),
        "catalog_file_tracks": len(catalog),
        "catalog_origin": dict(origin),
        "posts_with_candidates": with_candidates,
        "split": SPLIT_RULE,
        "walk": walk,
        "first_reading": first,
    }
    results: list[Result] = []
    for half in ("report", "dev"):
        for metric in ("precision", "recall"):
            target = TARGETS[metric][1] if half == "report" else ""
            results.append(
                Result(
                    "match-quality",
                    f"{metric}, {half} half ({walk[half]['right']:.0f} right of "
                    f"{walk[half]['matched' if metric == 'precision' else 'songs']:.0f})",
                    walk[half][metric],
                    "%",
                    "first reading only",
                    first[half][metric],
                    target,
                    params,
                )
            )
        results.append(
            Result(
                "match-quality",
                f"matched by a later reading, {half} half",
                walk[half]["later_reading"],
                "posts",
                "first reading only",
                first[half]["later_reading"],
                "",
                params,
            )
        )
    results.append(
        Result(
            "match-quality",
            "spotify requests per song post",
            walk_run.requests_per_post,
            "req/post",
            "first reading only",
            first_run.requests_per_post,
            "",
            params,
        )
    )
    return results


if __name__ == "__main__":
    for result in run():
        print(result.to_dict())
