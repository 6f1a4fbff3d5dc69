"""`make bench BENCH=clean-quality`: the cleaner judged on real posts, each set split once into a
development half and a report half (``bench/split.py``: sha256 of the normalized text, last byte even
-> dev, odd -> report). Every figure is printed for the report half with the dev half beside it (the
"baseline" columns); the issue's targets apply to the report half. Failures are printed for the dev
half only, never for the report half.

Every set is cleaned through the real command, ``nowplaying clean --in POSTS.jsonl --out
PARSED.jsonl``, exactly as outside evaluations call it.

Kinds (issue 19), from the hand-labelled rows of bench/data/ (rows that refer to ../shared/data are
rejoined from it, skipped when it is absent):
- radio: radio_posts.jsonl (station and bot posts); template: template_posts.jsonl; person:
  person_posts.jsonl; nonsong: nonsong_posts.jsonl.
- A song row is right when the cleaner's artist and title equal the label (case-folded, spaces
  collapsed; "T (Tag)" and Spotify's "T - Tag" are the same title); a row labelled without an artist
  is right when the title (or the query) is the label's title and no artist is claimed. A row of kind
  none is right when the cleaner says ``none`` or ``query`` (no track).
- parsed_precision: of the posts of those four files that the cleaner labelled ``parsed``, how many
  are right.
- candidates: of the song rows, how many have the right reading among the ``candidates`` (what the
  enricher can reach by trying them in order).
- links: 2022 X API posts with their real expanded open.spotify.com URLs; truth = the linked track.
- video_titles: a parser's hand-checked video-title cases (../shared/data).
- ugc_person / ugc_negative: BBC Radio 3 listeners' posts with the dataset authors' annotation
  (classical works, often informal; the artist is often the composer, and null where none was
  marked): ugc_person is right when the work is the title (or the query), the artist when one is
  marked; ugc_negative when no track is claimed. Weaker labels than the hand-labelled files.
Older sets, kept for continuity: regex_pandora / regex_lastfm (2014 templates whose labels come from a
regex, rows where it failed left out), x2022_separator / x2022_radio (2022 posts naming the linked
track, link withheld), seed_residue_none, mmtd_by, and the sandbox generator's truth (gen_*).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, progress
from bench.split import HALVES, SPLIT_RULE, Half, half_of

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "bench" / "data"
DATA = Path(os.environ.get("NOWPLAYING_SHARED_DATA", ROOT.parent / "shared" / "data"))
EVAL = Path(os.environ.get("NOWPLAYING_SHARED_EVAL", ROOT.parent / "shared" / "eval"))
NOWPLAYING = ROOT / ".venv" / "bin" / "nowplaying"
# Where the dev half's failures go in full (one per line), when set; the report half's never do.
FAILURES_FILE = os.environ.get("CLEAN_QUALITY_FAILURES", "")

# The targets (they apply to the report half).
TARGETS = {
    "radio": 0.92,
    "template": 0.97,
    "nonsong": 0.97,
    "links": 1.0,
    "parsed_precision": 0.97,
}
HAND_LABELLED = ("radio", "template", "person", "nonsong")
# Sets printed with every figure (the others with "right" only).
DETAILED = frozenset([*HAND_LABELLED, "video_titles", "ugc_person", "ugc_negative"])
_SEPARATOR_RE = re.compile(r"\s[-–—~|•·/]\s|\sby\s|:\s|[\"“”«»]|(?<!\w)'|\s—|–")
_RADIO_RE = re.compile(r"(?i)now\s*playing|#np\b|on air|\bradio\b|\bfm\b")
_RESIDUE = frozenset(["by", "on", "via", "from", "feat", "amp", "rt", "s"])


@dataclass
class Case:
    group: str
    post: dict[str, Any]
    kind: str  # expected: parsed | link | none | title (a song whose label names no artist)
    artist: str = ""
    title: str = ""
    track_id: str = ""
    credited: tuple[str, ...] = ()  # every credited artist (Spotify lists them all; ``artist`` is the first)
    half: Half = "dev"


def norm(value: str | None) -> str:
    return " ".join((value or "").casefold().split())


def norm_artist(value: str | None) -> str:
    return norm(value).replace("@", "")


_DASH_TAG_RE = re.compile(r"^(?P<head>.+?) - (?P<tag>[^()\-]+)$")


def norm_title(value: str | None) -> str:
    """Case-folded, spaces collapsed, and Spotify's "T - Tag" written as "T (Tag)"."""
    title = norm(value)
    match = _DASH_TAG_RE.match(title)
    return f"{match.group('head')} ({match.group('tag')})" if match else title


def _post(
    group: str, index: int, text: str, urls: list[str] | None = None, raw: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "source": "x",
        "post_id": f"{group}-{index}",
        "created_at": "2022-06-15T03:18:07Z",
        "author_id": f"{group}-author-{index}",
        "author_name": None,
        "lang": None,
        "text": text,
        "urls": urls or [],
        "is_repost": False,
        "raw": raw or {},
    }


def _case(group: str, index: int, text: str, kind: str, **fields: Any) -> Case:
    urls = fields.pop("urls", None)
    raw = fields.pop("raw", None)
    return Case(group, _post(group, index, text, urls, raw), kind, half=half_of(text), **fields)


@cache
def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def _jsonl(name: str) -> list[dict[str, Any]]:
    with open(DATA / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@cache
def _pages_tweets(name: str) -> list[dict[str, Any]]:
    pages = json.loads((DATA / name).read_text(encoding="utf-8"))
    return [tweet for page in pages for tweet in page.get("tweets", [])]


def shared_text(ref: dict[str, Any]) -> str | None:
    """The text a bench/data row refers to in ../shared/data (as bench/data/validate.py reads it)."""
    name = str(ref["file"])
    if not (DATA / name).exists():
        return None
    index = int(ref["line"]) - 1
    if name.endswith(".jsonl"):
        return str(_jsonl(name)[index]["text"])
    if name.endswith(".csv"):
        row = _rows(name)[index]
        return row["text"] if row.get(str(ref["key"])) == ref["value"] else None
    if name.endswith(".json"):
        tweet = _pages_tweets(name)[index]
        return str(tweet["text"]) if str(tweet["id"]) == ref["value"] else None
    return None


def labelled_cases() -> Iterator[Case]:
    """The hand-labelled rows of bench/data/ (shared references rejoined, skipped when absent)."""
    skipped = 0
    for group in HAND_LABELLED:
        path = LABELLED / f"{group}_posts.jsonl"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            row = json.loads(line)
            text = row.get("text")
            if text is None:
                text = shared_text(row["ref"])
                if text is None or hashlib.sha256(text.encode()).hexdigest() != row["text_sha256"]:
                    skipped += 1
                    continue
            kind = "none" if row["kind"] == "none" else "parsed" if row.get("artist") else "title"
            yield _case(group, i, text, kind, urls=row.get("urls") or [], artist=row.get("artist") or "",
                        title=row.get("title") or "")  # fmt: skip
    if skipped:
        progress(f"skipped {skipped} bench/data rows that refer to {DATA} (absent or changed)")


def shared_cases() -> Iterator[Case]:
    """The sets built from ../shared/data (never copied into the project)."""
    for i, row in enumerate(_jsonl("video_titles_get_artist_title.jsonl")):
        yield _case("video_titles", i, row["text"], "parsed", artist=row["artist"], title=row["title"])
    for i, row in enumerate(_jsonl("bbc_radio3_ugc_tweets_2018.jsonl")):
        if row["kind"] == "person":
            kind = "parsed" if row.get("artist") else "title"
            yield _case("ugc_person", i, row["text"], kind, artist=row.get("artist") or "", title=row["title"])
        else:
            yield _case("ugc_negative", i, row["text"], "none")

    # links: real expanded URLs from the X API pages, truth = the linked id of the pairs file
    linked: dict[str, str] = {}
    for row in _rows("spotify_link_tweet_pairs_2022.csv"):
        ids = [i for i in re.split(r"[|,; ]+", row["linked_track_ids"]) if i]
        if len(ids) == 1:
            linked[row["tweet_id"]] = ids[0]
    for i, tweet in enumerate(_pages_tweets("x_api_v2_tweets_with_spotify_links_2022.json")):
        urls = [u.get("expanded_url", "") for u in tweet.get("entities", {}).get("urls", [])]
        truth = linked.get(str(tweet["id"]))
        if truth is None:
            ids = {m.group(1) for u in urls for m in [re.search(r"/track/([A-Za-z0-9]{22})", u)] if m}
            if len(ids) != 1:
                continue
            truth = ids.pop()
        raw = {"source": tweet.get("source", ""), "entities": tweet.get("entities", {})}
        yield _case("links", i, tweet["text"], "link", urls=urls, raw=raw, track_id=truth)

    for group, name in (("regex_pandora", "pandora_listening_tweets_2014.csv"),
                        ("regex_lastfm", "lastfm_listening_tweets_2014.csv")):  # fmt: skip
        for i, row in enumerate(_rows(name)):
            # the template regex left stray quotes and took links for artists: drop those labels
            title, artist = row["template_title"].strip('"'), row["template_artist"].strip('"')
            if title and artist and "http" not in title + artist and "\n" not in artist:
                yield _case(group, i, row["text"], "parsed", artist=artist, title=title)

    # x2022 separator / radio: posts naming title and artist, link withheld
    seen: set[str] = set()
    i = 0
    for name, title_col, artist_col in (
        ("spotify_link_tweets_2022_us.csv", "song_name", "artist"),
        ("spotify_link_tweet_pairs_2022.csv", "track_name", "artists"),
    ):
        for row in _rows(name):
            if row["title_in_text"] != "True" or row["artist_in_text"] != "True":
                continue
            text = row["text"]
            if text in seen or not _SEPARATOR_RE.search(re.sub(r"https?://\S+", " ", text)):
                continue
            seen.add(text)
            credited = tuple(a for a in row[artist_col].split("|") if a)
            group = "x2022_radio" if _RADIO_RE.search(text) else "x2022_separator"
            yield _case(group, i, text, "parsed", artist=credited[0] if credited else "", title=row[title_col],
                        credited=credited)  # fmt: skip
            i += 1

    # the seed's leftovers that carry nothing song-like
    for i, row in enumerate(_rows("original_project_history_2022.csv")):
        words = row["text"].lower().split()
        if not words or all(w in _RESIDUE or w.isdigit() for w in words):
            yield _case("seed_residue_none", i, row["text"], "none")

    # "<title> by <artist>" texts with both spans
    for i, row in enumerate(_rows("mmtd_tweets_artist_track_spans.csv")):
        text, artist, title = row["text"], row["artist_spans"], row["track_spans"]
        if artist and title and "|" not in artist + title and norm(text) == norm(f"{title} by {artist}"):
            yield _case("mmtd_by", i, text, "parsed", artist=artist, title=title)


def generator_cases(n: int = 20_000) -> Iterator[Case]:
    """Posts and truth from the sandbox corpus generator (``nowplaying.sandbox.corpus``): each
    generated post gives its lake Post record and its truth {kind, artist, title, track_id, is_bot,
    format}; the group is ``gen_<format>`` (retweets grouped under the inner format)."""
    try:
        from nowplaying.sandbox.corpus import generate_posts
    except ImportError:
        return
    for generated in generate_posts(seed=7, n=n):
        truth = generated.truth.to_dict()
        fmt = str(truth.get("format") or truth.get("kind")).split("/")[-1]
        post = generated.as_post()
        post["post_id"] = f"gen-{post['post_id']}"
        yield Case(
            f"gen_{truth.get('kind')}_{fmt}",
            post,
            str(truth.get("kind", "none")),
            str(truth.get("artist") or ""),
            str(truth.get("title") or ""),
            str(truth.get("track_id") or ""),
            half=half_of(str(post["text"])),
        )


def eval_cases() -> Iterator[Case]:
    """The held-out set, if present as plain JSONL of Post records each with a ``truth`` object
    (scored whole, as the report half: its failures are never printed)."""
    if not EVAL.is_dir():
        return
    for path in sorted(EVAL.glob("*.jsonl")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            truth = obj.pop("truth", None)
            if not isinstance(truth, dict):
                continue
            obj["post_id"] = f"eval-{path.stem}-{i}"
            yield Case(
                f"heldout_{truth.get('format') or truth.get('kind')}",
                obj,
                str(truth.get("kind", "none")),
                str(truth.get("artist") or ""),
                str(truth.get("title") or ""),
                str(truth.get("spotify_track_id") or ""),
                half="report",
            )


def run_cli(cases: list[Case]) -> dict[str, dict[str, Any]]:
    """Clean the cases through ``nowplaying clean --in/--out``; results by post_id."""
    with tempfile.TemporaryDirectory(prefix="clean-quality-") as tmp:
        posts, parsed = Path(tmp) / "posts.jsonl", Path(tmp) / "parsed.jsonl"
        with open(posts, "w", encoding="utf-8") as handle:
            for case in cases:
                handle.write(json.dumps(case.post, ensure_ascii=False) + "\n")
        command = [
            str(NOWPLAYING) if NOWPLAYING.exists() else "nowplaying",
            "clean",
            "--in",
            str(posts),
            "--out",
            str(parsed),
        ]
        proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LOG_LEVEL": "WARNING"})
        if proc.returncode != 0:
            raise RuntimeError(f"nowplaying clean failed ({proc.returncode}): {proc.stderr[-500:]}")
        out: dict[str, dict[str, Any]] = {}
        for line in parsed.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            out[record["post_id"]] = record
        return out


def reading_right(case: Case, artist: str | None, title: str | None, query: str | None) -> bool:
    """Is this reading (artist/title, or a query) the labelled song?"""
    if case.kind == "title":
        if artist:
            return False
        return norm_title(title) == norm_title(case.title) or (not title and norm(query) == norm(case.title))
    return norm_artist(artist) == norm_artist(case.artist) and norm_title(title) == norm_title(case.title)


def is_right(case: Case, got: dict[str, Any]) -> bool:
    if case.kind == "none":
        return got["kind"] == "none" or (got["kind"] == "query" and not got.get("spotify_track_id"))
    if case.kind == "link":
        return bool(got["kind"] == "link" and got["spotify_track_id"] == case.track_id)
    if case.kind == "query":
        return bool(got["kind"] == "query")
    return reading_right(case, got.get("artist"), got.get("title"), got.get("query"))


def candidates_right(case: Case, got: dict[str, Any]) -> bool:
    """The right reading is among the post's candidates (or is its own reading)."""
    readings = got.get("candidates") or [got]
    return any(reading_right(case, c.get("artist"), c.get("title"), c.get("query")) for c in readings)


_TOKEN_RE = re.compile(r"\w+")
_ARTIST_JOIN_RE = re.compile(r"(?i)\s*(?:,|&|\band\b|\bx\b|\bwith\b|\bw/|\bfeat\.?|\bft\.?|\bfeaturing\b|\bvs\.?)\s*")
_VERSION_RE = re.compile(r"\s+(?:[(\[]|-\s).*$")


def tokens(value: str | None) -> tuple[str, ...]:
    return tuple(_TOKEN_RE.findall((value or "").casefold()))


def lenient_artist(case: Case, got: str | None) -> bool:
    """The artist names one of the credited artists: punctuation-insensitive ("William J. Thaxton"
    = "William J Thaxton"), one name of a list the post gave ("Mac Dre & Robert Ferguson" credits
    Mac Dre), or a mention handle the enricher resolves ("@iamfoxes" for Foxes)."""
    credited = {tokens(a) for a in (case.credited or (case.artist,)) if tokens(a)}
    mine = tokens(got)
    if not mine:
        return False
    if mine in credited or any(tokens(part) in credited for part in _ARTIST_JOIN_RE.split(got or "")):
        return True
    handle = "".join(mine)
    return len(mine) == 1 and any(len("".join(c)) >= 3 and "".join(c) in handle for c in credited)


def lenient_title(case: Case, got: str | None) -> bool:
    """The title matches punctuation-insensitively, and a version or guest written differently
    ("(Remastered 2012)" / "- Remastered 2012", "(ft. X)" / absent) does not count."""
    mine, want = tokens(got), tokens(case.title)
    if not mine:
        return False
    return mine == want or tokens(_VERSION_RE.sub("", got or "")) == tokens(_VERSION_RE.sub("", case.title))


def is_right_lenient(case: Case, got: dict[str, Any]) -> bool:
    if case.kind != "parsed":
        return is_right(case, got)
    return lenient_artist(case, got.get("artist")) and lenient_title(case, got.get("title"))


@dataclass
class Tally:
    posts: int = 0
    right: int = 0
    lenient: int = 0
    parsed: int = 0
    parsed_right: int = 0
    songs: int = 0
    candidates_right: int = 0

    def add(self, case: Case, got: dict[str, Any]) -> bool:
        ok = is_right(case, got)
        self.posts += 1
        self.right += ok
        self.lenient += is_right_lenient(case, got)
        if got["kind"] == "parsed":
            self.parsed += 1
            self.parsed_right += ok
        if case.kind in ("parsed", "title"):
            self.songs += 1
            self.candidates_right += candidates_right(case, got)
        return ok


def _pct(num: int, den: int) -> float:
    return num / den * 100 if den else 0.0


def _result(name: str, metric: str, tallies: dict[Half, Tally], value: str, of: str, target: str = "") -> Result:
    figures = {half: _pct(getattr(t, value), getattr(t, of)) for half, t in tallies.items()}
    params: dict[str, Any] = {"split": SPLIT_RULE}
    for half, t in tallies.items():
        params[f"{half}_{of}"] = getattr(t, of)
        params[f"{half}_{value}"] = getattr(t, value)
    return Result(name, metric, figures["report"], "%", "dev half", figures["dev"], target, params)


def _failure(case: Case, record: dict[str, Any]) -> str:
    want = "none" if case.kind == "none" else f"{case.artist!r} / {case.title!r}"
    return (
        f"[{case.group}] {case.post['text']!r} -> {record['kind']}/{record['rule']} "
        f"{record.get('artist')!r} / {record.get('title')!r} q={record.get('query')!r} (want {want})"
    )


def score(cases: list[Case], label: str) -> list[Result]:
    if not cases:
        return []
    progress(f"{label}: cleaning {len(cases):,} posts through `nowplaying clean --in/--out`")
    got = run_cli(cases)
    tallies: dict[str, dict[Half, Tally]] = defaultdict(lambda: {h: Tally() for h in HALVES})
    failures: list[str] = []
    for case in cases:
        record = got.get(case.post["post_id"])
        if record is None:
            continue
        ok = tallies[case.group][case.half].add(case, record)
        if case.group in HAND_LABELLED:
            tallies["parsed_precision"][case.half].add(case, record)
        if not ok and case.half == "dev":
            failures.append(_failure(case, record))
    results: list[Result] = []
    for group, halves in sorted(tallies.items(), key=lambda item: (item[0] not in TARGETS, item[0])):
        name = f"clean-quality/{group}"
        target = TARGETS.get(group.removeprefix("gen_").removeprefix("heldout_"))
        target_text = f">= {target:.0%}" if target is not None else ""
        if group == "parsed_precision":
            results.append(_result(name, "precision of kind=parsed", halves, "parsed_right", "parsed", target_text))
            continue
        results.append(_result(name, "right", halves, "right", "posts", target_text))
        if group not in DETAILED:
            continue
        if any(t.lenient != t.right for t in halves.values()):
            # printed beside the strict figures, never instead of them (see lenient_artist/lenient_title)
            results.append(_result(name, "right (credited artist, version-insensitive title)", halves, "lenient",
                                   "posts"))  # fmt: skip
        if any(t.parsed for t in halves.values()):
            results.append(_result(name, "precision of kind=parsed", halves, "parsed_right", "parsed"))
        if any(t.songs for t in halves.values()):
            results.append(_result(name, "right reading among candidates", halves, "candidates_right", "songs"))
    progress(f"split: {SPLIT_RULE}; figures are the report half, the dev half beside them")
    progress(f"{len(failures)} dev-half failures (report-half failures are not shown)")
    for line in failures[:12]:
        progress("dev: " + line[:220])
    if FAILURES_FILE:
        with open(FAILURES_FILE, "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in failures))
    return results


def run() -> list[Result]:
    results = score(list(labelled_cases()), "hand-labelled real posts (bench/data)")
    if DATA.is_dir():
        results += score(list(shared_cases()), "real labelled posts (../shared/data)")
    else:
        progress(f"skipped real labelled posts: {DATA} is absent")
    generated = list(generator_cases())
    if generated:
        results += score(generated, "sandbox generator truth")
    held_out = list(eval_cases())
    if held_out:
        results += score(held_out, "held-out real posts (../shared/eval)")
    return results


if __name__ == "__main__":
    for result in run():
        print(result.name, result.metric, f"{result.value:.1f}", result.baseline_value, result.params)
