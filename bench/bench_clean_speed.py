"""`make bench BENCH=clean-speed`: posts per second per core of ``clean_post`` on 1,000,000 generated
posts, with the original project's cleaning (bench/seed_cleaning.py) timed on the same posts in the
same run as the baseline. CPU time (``time.process_time``) of one process = per core.

Posts come from the sandbox corpus generator (``nowplaying.sandbox.corpus.generate_posts``) when it
exists, else from the small generator below (real-looking #NowPlaying formats in several scripts).
Posts are built in chunks outside the timed sections, so memory stays flat.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nowplaying.cleaner.core import clean_post, clear_text_cache, text_cache_stats
from nowplaying.common.models import Post

from bench.common import Result, peak_rss_mb, progress
from bench.seed_cleaning import entity_spans, seed_clean

N_POSTS = int(os.environ.get("CLEAN_SPEED_POSTS", "1000000"))
CHUNK = 50_000
TARGET = 20_000

_ARTISTS = [
    "Daft Punk", "Beyoncé", "宇多田ヒカル", "Кино", "BTS", "Rosalía", "Sigur Rós", "The Weeknd", "Stromae",
    "Fela Kuti", "AC/DC", "Guns N' Roses", "Mötley Crüe", "Bad Bunny", "Ибрагим Ибрагимов", "아이유",
]  # fmt: skip
_TITLES = [
    "Get Lucky (feat. Pharrell Williams)", "Halo", "First Love", "Группа крови", "Dynamite", "Malamente",
    "Hoppípolla", "Blinding Lights (Radio Edit)", "Alors on danse", "Zombie", "Back in Black",
    "Sweet Child O' Mine", "Kickstart My Heart", "Tití Me Preguntó", "Ночь", "좋은 날",
]  # fmt: skip
_FORMATS = [
    "#NowPlaying {a} - {t}",
    "{a} – {t} #np https://t.co/abcDEF123",
    'I\'m listening to "{t}" by {a} on Pandora https://t.co/xYz #pandora',
    "I’m listening to {t} by {a} https://t.co/sTofZPAwEb via @lastfm",
    "Now Playing on Radio Nova 101.5: {a} - {t} ♫ Listen live!",
    "🎶 {t} by {a} 🎶 #nowplaying",
    '{a} "{t}" &amp; chill',
    "@friend you have to hear {t} by {a}!! https://open.spotify.com/track/6wNUBZNWFxdUGof6vkaykE?si=x",
    "RT @radio: #NowPlaying {a} - {t}",
    "#NowWatching the finale tonight",
    "RT",
    "just vibing #nowplaying",
]


def fallback_posts(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        text = rng.choice(_FORMATS).format(a=rng.choice(_ARTISTS), t=rng.choice(_TITLES))
        yield {
            "source": "sandbox",
            "post_id": str(i),
            "created_at": "2026-01-01T00:00:00.000Z",
            "author_id": f"u{rng.randrange(50_000)}",
            "author_name": None,
            "lang": None,
            "text": text,
            "urls": [],
            "is_repost": text.startswith("RT "),
            "raw": {},
        }


def posts_source(n: int) -> tuple[str, Iterator[dict[str, Any]]]:
    try:
        from nowplaying.sandbox.corpus import generate_posts  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return "bench fallback generator", fallback_posts(n)
    return "sandbox corpus generator", (post.as_post() for post in generate_posts(seed=11, n=n))


def run() -> list[Result]:
    name, source = posts_source(N_POSTS)
    progress(f"{N_POSTS:,} posts from the {name}, in chunks of {CHUNK:,}")
    ours_cpu = seed_cpu = uncached_cpu = 0.0
    clear_text_cache()
    done = 0
    kinds: dict[str, int] = {}
    wall = time.perf_counter()
    while done < N_POSTS:
        chunk: list[Post] = []
        for obj in source:
            chunk.append(Post.from_dict(obj))
            if len(chunk) >= CHUNK:
                break
        if not chunk:
            break
        spans = [entity_spans(p.text) for p in chunk]  # the seed got these from the X API

        start = time.process_time()
        parsed = [clean_post(p) for p in chunk]
        ours_cpu += time.process_time() - start

        start = time.process_time()
        fresh = [clean_post(p, cache=False) for p in chunk]
        uncached_cpu += time.process_time() - start
        if fresh != parsed:
            raise AssertionError("the text cache changed an answer")

        start = time.process_time()
        for p, s in zip(chunk, spans, strict=True):
            seed_clean(p.text, s)
        seed_cpu += time.process_time() - start

        for pp in parsed:
            kinds[pp.kind] = kinds.get(pp.kind, 0) + 1
        done += len(chunk)
        if done % 250_000 == 0:
            progress(f"{done:,} posts, {done / ours_cpu:,.0f} posts/s so far")
    hits, misses = text_cache_stats()
    hit_rate = hits / max(hits + misses, 1)
    progress(
        f"repeated texts answered from the cache: {hit_rate:.1%}; every text decided afresh:"
        f" {done / uncached_cpu:,.0f} posts/s"
    )
    params = {
        "posts": done,
        "text_cache_hit_rate": round(hit_rate, 3),
        "uncached_cpu_s": round(uncached_cpu, 2),
        "source": name,
        "kinds": kinds,
        "cpu_s": round(ours_cpu, 2),
        "seed_cpu_s": round(seed_cpu, 2),
        "wall_s": round(time.perf_counter() - wall, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    return [
        Result(
            "clean-speed", "posts per second per core", done / ours_cpu, "posts/s", "seed cleaning",
            done / seed_cpu, f">= {TARGET:,} posts/s", params,
        ),
        # the same posts with the text cache off: what a stream without repeated texts would get
        Result(
            "clean-speed", "posts per second per core, no repeated-text cache", done / uncached_cpu, "posts/s",
            "seed cleaning", done / seed_cpu, "", params,
        ),
    ]  # fmt: skip


if __name__ == "__main__":
    for result in run():
        print(result.to_dict())
