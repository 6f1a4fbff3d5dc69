"""`make bench BENCH=clean-quality`: exact artist and title (after case-folding and whitespace
collapsing) per kind and format, precision beside recall, on the labelled real posts of
../shared/data (skipped when absent) and on the sandbox generator's truth (when it provides one).

Every set is cleaned through the real command, ``nowplaying clean --in POSTS.jsonl --out
PARSED.jsonl``, exactly as outside evaluations call it. Precision = of the posts the cleaner labelled
parsed (or link), how many are right; recall = right / all posts of the set.

Strict scoring compares the label's first artist and the label's title exactly. Real labels are
Spotify's canonical names, which a post rarely spells the same way ("Mac Dre & Robert Ferguson" for
a post naming Mac Dre, "Silent Night - Hip Hop Mix" for "SILENT NIGHT (HIP HOP MIX)", "@iamfoxes"
for Foxes), so a second, lenient precision is printed beside the strict one where they differ:
the artist names one of the credited artists (punctuation-insensitive, one name of a list, or a
mention handle containing the name), and the title matches punctuation-insensitively or with its
version/guest decoration ("(Remix)" / "- Remix" / "(ft. X)") ignored. Targets apply to the strict
figure.

Sets (built here from the data files, never copied into the project):
- template_pandora, template_lastfm: 2014 "I'm listening to ..." posts with their template labels
  (labels from a simple regex; rows where it failed are left out; a leading "@" on a label artist is
  dropped, as the cleaner unwraps mentions).
- spotify_link: 2022 X API posts with their real expanded open.spotify.com URLs; truth = the linked
  track id.
- separator: 2022 posts that name both title and artist (exact labels from the shared Spotify link)
  and contain a separator ("-", "–", "by", "•", "·", "|", ":", "/" or quotes); the link is withheld so
  the text alone must give the answer.
- radio: the separator posts written in a broadcast format ("Now Playing", station names).
- none: the original project's leftovers ("RT", "by on", "feat", ...): nothing song-like remains, so
  the right answer is kind=none.
- mmtd_by: Million Musical Tweets texts of the form "<title> by <artist>" (spans as labels).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, progress
from bench.seed_cleaning import entity_spans, seed_clean

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NOWPLAYING_SHARED_DATA", ROOT.parent / "shared" / "data"))
EVAL = Path(os.environ.get("NOWPLAYING_SHARED_EVAL", ROOT.parent / "shared" / "eval"))
NOWPLAYING = ROOT / ".venv" / "bin" / "nowplaying"

TARGETS = {
    "template_pandora": 0.95,
    "template_lastfm": 0.95,
    "radio": 0.95,
    "separator": 0.85,
    "spotify_link": 1.0,
    "none": 0.95,
}
_SEPARATOR_RE = re.compile(r"\s[-–—~|•·/]\s|\sby\s|:\s|[\"“”«»]|(?<!\w)'|\s—|–")
_RADIO_RE = re.compile(r"(?i)now\s*playing|#np\b|on air|\bradio\b|\bfm\b")
_RESIDUE = frozenset(["by", "on", "via", "from", "feat", "amp", "rt", "s"])


@dataclass
class Case:
    group: str
    post: dict[str, Any]
    kind: str  # expected: parsed | link | none
    artist: str = ""
    title: str = ""
    track_id: str = ""
    credited: tuple[str, ...] = ()  # every credited artist (Spotify lists them all; ``artist`` is the first)


def norm(value: str | None) -> str:
    return " ".join((value or "").casefold().split())


def norm_artist(value: str | None) -> str:
    return norm(value).replace("@", "")


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


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def real_cases() -> Iterator[Case]:
    for group, name in (
        ("template_pandora", "pandora_listening_tweets_2014.csv"),
        ("template_lastfm", "lastfm_listening_tweets_2014.csv"),
    ):
        for i, row in enumerate(_rows(name)):
            # the template regex left stray quotes and took links for artists: drop those labels
            title, artist = row["template_title"].strip('"'), row["template_artist"].strip('"')
            if title and artist and "http" not in title + artist and "\n" not in artist:
                yield Case(group, _post(group, i, row["text"]), "parsed", artist, title)

    # spotify_link: real expanded URLs from the X API pages, truth = the linked id of the pairs file
    linked: dict[str, str] = {}
    for row in _rows("spotify_link_tweet_pairs_2022.csv"):
        ids = [i for i in re.split(r"[|,; ]+", row["linked_track_ids"]) if i]
        if len(ids) == 1:
            linked[row["tweet_id"]] = ids[0]
    pages = json.loads((DATA / "x_api_v2_tweets_with_spotify_links_2022.json").read_text())
    i = 0
    for page in pages:
        for tweet in page.get("tweets", []):
            urls = [u.get("expanded_url", "") for u in tweet.get("entities", {}).get("urls", [])]
            truth = linked.get(str(tweet["id"]))
            if truth is None:
                ids = {m.group(1) for u in urls for m in [re.search(r"/track/([A-Za-z0-9]{22})", u)] if m}
                if len(ids) != 1:
                    continue
                truth = ids.pop()
            raw = {"source": tweet.get("source", ""), "entities": tweet.get("entities", {})}
            yield Case("spotify_link", _post("spotify_link", i, tweet["text"], urls, raw), "link", track_id=truth)
            i += 1

    # separator / radio: posts naming title and artist, link withheld
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
            artist = credited[0] if credited else ""
            group = "radio" if _RADIO_RE.search(text) else "separator"
            yield Case(group, _post(group, i, text), "parsed", artist, row[title_col], credited=credited)
            i += 1

    # none: the seed's leftovers that carry nothing song-like
    for i, row in enumerate(_rows("original_project_history_2022.csv")):
        words = row["text"].lower().split()
        if not words or all(w in _RESIDUE or w.isdigit() for w in words):
            yield Case("none", _post("none", i, row["text"]), "none")

    # mmtd_by: "<title> by <artist>" texts with both spans
    for i, row in enumerate(_rows("mmtd_tweets_artist_track_spans.csv")):
        text, artist, title = row["text"], row["artist_spans"], row["track_spans"]
        if artist and title and "|" not in artist + title and norm(text) == norm(f"{title} by {artist}"):
            yield Case("mmtd_by", _post("mmtd_by", i, text), "parsed", artist, title)


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
        )


def eval_cases() -> Iterator[Case]:
    """The held-out set, if present: JSONL of Post records each with a ``truth`` object."""
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


def is_right(case: Case, got: dict[str, Any]) -> bool:
    if case.kind == "none":
        return bool(got["kind"] == "none")
    if case.kind == "link":
        return bool(got["kind"] == "link" and got["spotify_track_id"] == case.track_id)
    if case.kind == "query":
        return bool(got["kind"] == "query")
    return norm_artist(got.get("artist")) == norm_artist(case.artist) and norm(got.get("title")) == norm(case.title)


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


def claims(case: Case, got: dict[str, Any]) -> bool:
    """Did the cleaner commit to an answer of the kind the case is scored on?"""
    if case.kind == "none":
        return bool(got["kind"] == "none")
    if case.kind == "link":
        return bool(got["kind"] == "link")
    if case.kind == "query":
        return bool(got["kind"] in ("query", "parsed"))
    return bool(got.get("artist") and got.get("title"))


def seed_right(case: Case) -> bool:
    """The seed never splits: it is right only on posts whose right answer is 'nothing'."""
    if case.kind != "none":
        return False
    return not seed_clean(case.post["text"], entity_spans(case.post["text"])).strip()


def score(cases: list[Case], label: str) -> list[Result]:
    if not cases:
        return []
    progress(f"{label}: cleaning {len(cases):,} posts through `nowplaying clean --in/--out`")
    got = run_cli(cases)
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        groups[case.group].append(case)
    results: list[Result] = []
    mistakes: dict[str, list[str]] = {}
    for group, members in sorted(groups.items()):
        claimed = right = lenient = seed_ok = 0
        for case in members:
            record = got.get(case.post["post_id"])
            if record is None:
                continue
            ok = is_right(case, record)
            right += ok
            lenient += is_right_lenient(case, record)
            claimed += claims(case, record)
            seed_ok += seed_right(case)
            if not ok and len(mistakes.setdefault(group, [])) < 5:
                mistakes[group].append(
                    f"{case.post['text'][:90]!r} -> {record['kind']}/{record['rule']} "
                    f"{record.get('artist')!r} / {record.get('title')!r} (want {case.artist!r} / {case.title!r})"
                )
        n = len(members)
        target = TARGETS.get(group.removeprefix("gen_").removeprefix("heldout_"))
        target_text = f">= {target:.0%} precision" if target is not None else ""
        params = {"posts": n, "claimed": claimed, "right": right, "set": label}
        precision = right / claimed if claimed else 0.0
        results.append(
            Result(f"clean-quality/{group}", "precision", precision * 100, "%", "seed cleaning",
                   seed_ok / n * 100, target_text, params)
        )  # fmt: skip
        results.append(
            Result(
                f"clean-quality/{group}", "recall", right / n * 100, "%", "seed cleaning", seed_ok / n * 100, "", params
            )
        )
        if lenient != right:
            # printed beside the strict figures, never instead of them (see lenient_artist/lenient_title)
            results.append(
                Result(f"clean-quality/{group}", "precision (credited artist, version-insensitive title)",
                       lenient / claimed * 100 if claimed else 0.0, "%", "seed cleaning", seed_ok / n * 100, "",
                       {**params, "right_lenient": lenient})
            )  # fmt: skip
    for group, lines in mistakes.items():
        progress(f"{group}: e.g. " + "\n       ".join(lines[:3]))
    return results


def run() -> list[Result]:
    results: list[Result] = []
    if DATA.is_dir():
        results += score(list(real_cases()), "real labelled posts (../shared/data)")
    else:
        progress(f"skipped real labelled posts: {DATA} is absent")
    generated = list(generator_cases())
    if generated:
        results += score(generated, "sandbox generator truth")
    else:
        progress("skipped generator truth: nowplaying.sandbox.corpus.generate_posts is not available yet")
    held_out = list(eval_cases())
    if held_out:
        results += score(held_out, "held-out real posts (../shared/eval)")
    return results


if __name__ == "__main__":
    for result in run():
        print(result.name, result.metric, f"{result.value:.1f}", result.params)
