"""Charts and statistics from the Spark tables, as plain functions on plain rows."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from nowplaying.gateway.query import QueryError, as_utc

Row = Mapping[str, Any]

STAT_FEATURES = (
    "danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness", "liveness",
    "valence", "tempo",
)  # fmt: skip
STAT_METRICS = ("plays", "listeners", *STAT_FEATURES)
# Fixed domains of the distribution histogram; values outside fall into the edge bins.
FEATURE_DOMAINS: dict[str, tuple[float, float]] = {
    "danceability": (0.0, 1.0),
    "energy": (0.0, 1.0),
    "speechiness": (0.0, 1.0),
    "acousticness": (0.0, 1.0),
    "instrumentalness": (0.0, 1.0),
    "liveness": (0.0, 1.0),
    "valence": (0.0, 1.0),
    "tempo": (0.0, 250.0),
    "loudness": (-60.0, 0.0),
}
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 1, 1)
MAX_STATS_DAYS = 92


def check_day(name: str, value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise QueryError(f"'{name}' must be between 2000-01-01 and 2100-01-01")
    return value


def days_ending(day: date, count: int) -> list[date]:
    """``count`` days ending with ``day``, oldest first."""
    return [day - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def day_range(start: date, end: date, longest: int = MAX_STATS_DAYS) -> list[date]:
    check_day("start", start)
    check_day("end", end)
    if start > end:
        raise QueryError("'start' must not be after 'end'")
    count = (end - start).days + 1
    if count > longest:
        raise QueryError(f"the range is longer than {longest} days; narrow 'start'/'end'")
    return [start + timedelta(days=i) for i in range(count)]


def parse_metrics(text: str) -> list[str]:
    """The comma-separated metrics, checked, without duplicates, ``plays`` first."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in STAT_METRICS]
    if unknown:
        raise QueryError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(STAT_METRICS)}")
    out = ["plays"]
    for name in names:
        if name not in out:
            out.append(name)
    return out


# --- charts -----------------------------------------------------------------------------------
def merge_ranked(per_day: Sequence[Sequence[Row]], id_field: str, limit: int) -> list[dict[str, Any]]:
    """Top lists of several days summed per id and ranked again (plays desc, then id)."""
    totals: dict[str, dict[str, Any]] = {}
    for rows in per_day:
        for row in rows:
            key = row[id_field]
            if key is None:
                continue
            entry = totals.get(key)
            if entry is None:
                entry = {k: v for k, v in row.items() if k != "rank"}
                entry["plays"] = 0
                entry["listeners"] = 0
                totals[key] = entry
            entry["plays"] += int(row.get("plays") or 0)
            entry["listeners"] += int(row.get("listeners") or 0)
    ranked = sorted(totals.values(), key=lambda e: (-e["plays"], str(e[id_field])))[:limit]
    return [{"rank": i, **entry} for i, entry in enumerate(ranked, start=1)]


# --- statistics -------------------------------------------------------------------------------
@dataclass
class _Group:
    key: str
    label: str
    plays: int = 0
    listeners: int = 0
    sums: dict[str, float] = field(default_factory=dict)  # play-weighted feature sums
    weights: dict[str, int] = field(default_factory=dict)

    def add(self, row: Row, plays: int) -> None:
        self.plays += plays
        self.listeners += int(row.get("listeners") or 0)
        for name in STAT_FEATURES:
            value = row.get(name)
            if value is None or math.isnan(value):
                continue
            weight = max(plays, 1)
            self.sums[name] = self.sums.get(name, 0.0) + float(value) * weight
            self.weights[name] = self.weights.get(name, 0) + weight

    def value(self, metric: str) -> float | int | None:
        if metric == "plays":
            return self.plays
        if metric == "listeners":
            return self.listeners
        weight = self.weights.get(metric, 0)
        return round(self.sums[metric] / weight, 4) if weight else None


def track_label(artist_names: Sequence[str] | None, track_name: str | None) -> str:
    artists = ", ".join(artist_names or [])
    title = track_name or "?"
    return f"{artists} – {title}" if artists else title


def group_rows(rows_per_day: Iterable[Iterable[Row]], group_by: Literal["track", "artist"]) -> list[_Group]:
    groups: dict[str, _Group] = {}
    id_field = "track_id" if group_by == "track" else "artist_id"
    for rows in rows_per_day:
        for row in rows:
            key = row.get(id_field)
            if not key:
                continue
            group = groups.get(key)
            if group is None:
                label = (
                    track_label(row.get("artist_names"), row.get("track_name"))
                    if group_by == "track"
                    else str(row.get("artist_name") or key)
                )
                group = groups[key] = _Group(key=str(key), label=label)
            group.add(row, int(row.get("plays") or 0))
    return list(groups.values())


def day_groups(
    days: Sequence[date], summaries: Sequence[Row | None], feature_rows: Sequence[Sequence[Row]]
) -> list[_Group]:
    """One group per day: plays and listeners from ``daily_summary``, features from the day's means."""
    groups: list[_Group] = []
    for day, summary, features in zip(days, summaries, feature_rows, strict=True):
        group = _Group(key=day.isoformat(), label=day.isoformat())
        if summary is not None:
            group.plays = int(summary.get("plays") or 0)
            group.listeners = int(summary.get("listeners") or 0)
        for row in features:
            name, mean = row.get("feature"), row.get("mean")
            if name in STAT_FEATURES and mean is not None and not math.isnan(mean):
                group.sums[name] = float(mean)
                group.weights[name] = 1
        groups.append(group)
    return groups


def stats_items(
    groups: Sequence[_Group], metrics: Sequence[str], sort: str, order: Literal["asc", "desc"], limit: int
) -> list[dict[str, Any]]:
    def sort_value(group: _Group) -> Any:
        return group.label.casefold() if sort == "label" else group.value(sort)

    present = [g for g in groups if sort_value(g) is not None]
    missing = [g for g in groups if sort_value(g) is None]
    present.sort(key=lambda g: g.key)  # a stable tie order, whatever the direction
    present.sort(key=sort_value, reverse=order == "desc")
    ordered = (present + sorted(missing, key=lambda g: g.key))[:limit]
    return [{"key": g.key, "label": g.label, **{m: g.value(m) for m in metrics}} for g in ordered]


def histogram(
    values: Iterable[tuple[float, int]], domain: tuple[float, float], bins: int
) -> tuple[list[dict[str, float | int]], int]:
    """Counts of weighted values in ``bins`` equal bins over ``domain`` (edges clamp); and the total."""
    lo, hi = domain
    width = (hi - lo) / bins
    counts = [0] * bins
    total = 0
    for value, weight in values:
        if math.isnan(value):
            continue
        index = int((value - lo) / width)
        index = min(max(index, 0), bins - 1)
        counts[index] += weight
        total += weight
    edges = [
        {"lo": round(lo + i * width, 6), "hi": round(lo + (i + 1) * width, 6), "count": counts[i]} for i in range(bins)
    ]
    return edges, total


def plays_by_day(played_at: Iterable[datetime], days: Sequence[date]) -> list[dict[str, Any]]:
    counts = Counter(as_utc(t).date() for t in played_at)
    return [{"day": d.isoformat(), "plays": counts.get(d, 0)} for d in days]
