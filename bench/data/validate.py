"""Checks the hand-labelled development set in bench/data/*.jsonl.

Run: python bench/data/validate.py [files...]   (default: every *_posts.jsonl here)

Checks each row: valid JSON, required fields, kind/artist/title consistent, a source_url,
no forbidden source, no duplicate post (case-, space-, link- and handle-insensitive). Rows that refer to
../shared/data are rejoined and their sha256 checked when that folder is present.
Prints counts per stratum, per source and the number of distinct stations.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "data"
STRATA = {
    "radio",
    "bot",
    "template_retweet",
    "template_extra",
    "template_no_artist",
    "template_other",
    "person_separator",
    "nonsong",
}
FORBIDDEN = (
    "AdrianRiesco/Masters-Thesis-on-Big-Data",
    "ejkiel/sp-capstone",
    "katjpg/tweetify",
    "sidooms/Twitter-ratings",
    "dtregan/music-tweet-ner",
    "now-playin-backend",
    "LPorcaro/musicner/blob",
    "goto-bus-stop/get-artist-title/blob",
)
REQUIRED = ("urls", "kind", "artist", "title", "stratum", "station", "lang", "source_url")


def shared_text(ref: dict[str, object]) -> str | None:
    path = SHARED / str(ref["file"])
    if not path.exists():
        return None
    line = int(str(ref["line"]))
    name = path.name
    if name.endswith(".jsonl"):
        with path.open(encoding="utf-8") as f:
            for i, raw in enumerate(f, 1):
                if i == line:
                    return str(json.loads(raw)["text"])
    elif name.endswith(".csv"):
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        rec = rows[line - 1]
        assert rec[str(ref["key"])] == ref["value"], f"{name} row {line}: key mismatch"
        return rec["text"]
    elif name.endswith(".json"):
        pages = json.loads(path.read_text(encoding="utf-8"))
        tweets = [t for p in pages for t in p["tweets"]]
        rec = tweets[line - 1]
        assert str(rec["id"]) == ref["value"], f"{name} row {line}: id mismatch"
        return str(rec["text"])
    raise ValueError(f"unknown shared file {name}")


def same_post_key(text: str) -> str:
    """Case-, space- and link-insensitive form: the same post copied into two datasets
    (one with its links removed or handles masked) counts as a duplicate."""
    text = re.sub(r"https?://\S+|\{link\}|URL\d+", " ", text)
    text = re.sub(r"@\w+", "@user", text)
    return re.sub(r"\s+", " ", text).strip().strip('"').casefold()


def source_of(url: str) -> str:
    m = re.match(r"https://github\.com/([^/]+/[^/]+)/blob/[^/]+/(.+?)(#L\d+)?$", url)
    if m:
        return f"{m.group(1)}:{m.group(2)}"
    m = re.search(r"shared/data[^:]*: (\S+)|shared/data/(\S+)\)", url)
    if m:
        return "shared:" + (m.group(1) or m.group(2))
    return url


def check(paths: list[Path]) -> int:
    errors: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        strata: collections.Counter[str] = collections.Counter()
        sources: collections.Counter[str] = collections.Counter()
        stations: set[str] = set()
        n = 0
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{lineno}"
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as e:
                errors.append(f"{where}: not JSON ({e})")
                continue
            n += 1
            for key in REQUIRED:
                if key not in row:
                    errors.append(f"{where}: missing {key}")
            if ("text" in row) == ("ref" in row):
                errors.append(f"{where}: needs exactly one of text / ref")
            text = row.get("text")
            if "ref" in row:
                if "text_sha256" not in row:
                    errors.append(f"{where}: ref without text_sha256")
                try:
                    text = shared_text(row["ref"])
                except Exception as e:  # report any broken reference
                    errors.append(f"{where}: bad ref ({e})")
                    text = None
                if text is not None and hashlib.sha256(text.encode()).hexdigest() != row.get("text_sha256"):
                    errors.append(f"{where}: text_sha256 does not match the shared row")
            kind = row.get("kind")
            if kind == "song":
                if not row.get("title"):
                    errors.append(f"{where}: song without title")
            elif kind == "none":
                if row.get("artist") is not None or row.get("title") is not None:
                    errors.append(f"{where}: kind none with artist/title")
            else:
                errors.append(f"{where}: bad kind {kind!r}")
            if row.get("stratum") not in STRATA:
                errors.append(f"{where}: bad stratum {row.get('stratum')!r}")
            url = str(row.get("source_url") or "")
            if not url:
                errors.append(f"{where}: no source_url")
            if any(f in url for f in FORBIDDEN):
                errors.append(f"{where}: forbidden source {url}")
            key = same_post_key(text) if text is not None else str(row.get("text_sha256"))
            if key in seen:
                errors.append(f"{where}: duplicate of {seen[key]}")
            seen[key] = where
            strata[str(row.get("stratum"))] += 1
            sources[source_of(url)] += 1
            if row.get("station"):
                stations.add(str(row["station"]))
        print(f"\n{path.name}: {n} rows")
        for s, c in sorted(strata.items()):
            print(f"  stratum {s:20s} {c}")
        print(f"  distinct stations/bots/services: {len(stations)}")
        for s, c in sources.most_common():
            print(f"  source {c:4d} ({100 * c / max(n, 1):4.1f}%) {s}")
    for message in errors:
        print("ERROR", message)
    print(f"\n{len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or sorted(HERE.glob("*_posts.jsonl"))
    sys.exit(check(args))
