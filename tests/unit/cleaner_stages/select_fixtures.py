"""Pick the stage fixtures (fixtures/<stage>.json) among the dev-half rows of bench/data.

Run: .venv/bin/python -m tests.unit.cleaner_stages.select_fixtures. The expected values written are
the rows' hand labels; the cleaner's output only decides which stage a row illustrates (a row is
taken where the cleaner gets it right, so each fixture guards a real case that works).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nowplaying.cleaner.core import clean_post
from nowplaying.common.models import Post

from bench import bench_clean_quality as quality
from bench.split import half_of

OUT = Path(__file__).resolve().parent / "fixtures"
LIMITS = {"normalize": 12, "frame": 24, "split": 30, "tidy": 20, "classify": 24, "candidates": 24}
# Rows each rule of issue 19 entered with, kept in the fixtures whatever the spread picks.
FORCED = {
    "normalize": ["ï¿½", "\x89Û¢", "Hochzeit"],
    "frame": [],
    "split": ["Hank Thompson", "Apollo Brown", "Elton John with", "Mali Cuba"],
    "tidy": ["Noel Lorica", "1069TheArrow", "Fitz And The Tantrums", "Camille Saint"],
    "classify": ["Kindle", "Good album indeed"],
    "candidates": ["Can't Even Walk", "Day By Day"],
}
SPLIT_RULES = ("dash", "by", "quoted", "separator", "colon", "slash")
NORMALIZE_MARKS = ("&amp;", "&quot;", "&gt;", "&lt;", "\u200b", "\r", "ï¿½", "\x89", "\ufffd")


def _case(group: str, row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "text": row["text"],
        "urls": row.get("urls") or [],
        "kind": row["kind"],
        "artist": row["artist"],
        "title": row["title"],
        "set": f"bench/data/{group}_posts.jsonl",
        "source": row["source_url"],
        **extra,
    }


def main() -> None:
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in LIMITS}
    for group in quality.HAND_LABELLED:
        for line in (quality.LABELLED / f"{group}_posts.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if "text" not in row or half_of(row["text"]) != "dev":
                continue
            text = row["text"]
            kind = "none" if row["kind"] == "none" else ("parsed" if row["artist"] else "title")
            case = quality._case(group, 0, text, kind, urls=row.get("urls") or [], artist=row["artist"] or "",
                                 title=row["title"] or "")  # fmt: skip
            got = clean_post(Post.from_dict(case.post), cache=False).to_dict()
            ok, rule = quality.is_right(case, got), got["rule"]
            framed = rule.startswith("template") or rule == "radio_now_playing"
            if ok and framed and got["kind"] in ("parsed", "query"):
                out["frame"].append(_case(group, row, rule=rule))
            elif ok and got["kind"] == "parsed" and rule.split("_")[0] in SPLIT_RULES:
                out["split"].append(_case(group, row, rule=rule))
                if any(key in text.lower() for key in ("#", "listen", "http", "tune in", "via ")):
                    out["tidy"].append(_case(group, row))
            if row["kind"] == "none" and got["kind"] in ("none", "query"):
                out["classify"].append(_case(group, row, rule=rule))
            if row["kind"] == "song" and got.get("candidates") and quality.candidates_right(case, got):
                out["candidates"].append(_case(group, row, claimed=got["kind"] == "parsed"))
            if any(mark in text for mark in NORMALIZE_MARKS):
                out["normalize"].append(_case(group, row))
    for name, cases in out.items():
        step = max(1, len(cases) // LIMITS[name])  # spread over the four files
        chosen = cases[::step][: LIMITS[name]]
        chosen += [c for c in cases if any(f in c["text"] for f in FORCED[name]) and c not in chosen]
        (OUT / f"{name}.json").write_text(json.dumps(chosen, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(name, len(cases), "->", len(chosen))


if __name__ == "__main__":
    main()
