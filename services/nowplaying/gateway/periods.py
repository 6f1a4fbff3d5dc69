"""The period charts and the listening activity, as plain functions on plain rows (issue 21)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from nowplaying.common.periods import period_bounds, period_key

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Period:
    kind: str
    key: str
    start: date | None
    end: date | None

    @classmethod
    def of(cls, kind: str, day: date) -> Period:
        start, end = period_bounds(kind, day)
        return cls(kind, period_key(kind, day), start, end)

    def fields(self) -> dict[str, Any]:
        return {
            "period": self.kind,
            "period_key": self.key,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }


def _count(people: int, bots: int) -> dict[str, int]:
    return {"plays": people + bots, "people": people, "bots": bots}


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


def time_points(period: Period, present: Iterable[str]) -> list[str]:
    """Every point of the period's 'over time' series, in order (zeros are filled in by the caller)."""
    if period.kind == "day":
        return [f"{h:02d}" for h in range(24)]
    if period.kind in ("week", "month") and period.start and period.end:
        count = (period.end - period.start).days + 1
        return [(period.start + timedelta(days=i)).isoformat() for i in range(count)]
    if period.kind == "year" and period.start:
        return [f"{period.start.year:04d}-{m:02d}" for m in range(1, 13)]
    points = sorted(set(present))
    return _months(points[0], points[-1]) if points else []


def activity_view(period: Period, rows: Iterable[Row]) -> dict[str, Any]:
    """The Activity answer from a period's ``activity_by_period`` rows."""
    dims: dict[str, dict[str, tuple[int, int]]] = {"how": {}, "time": {}, "source": {}, "lang": {}}
    for row in rows:
        dim = str(row.get("dim"))
        if dim in dims:
            dims[dim][str(row.get("value"))] = (int(row.get("people") or 0), int(row.get("bots") or 0))
    heatmap = []
    for weekday in range(1, 8):
        for hour in range(24):
            people, bots = dims["how"].get(f"{weekday}-{hour:02d}", (0, 0))
            heatmap.append({"weekday": weekday, "hour": hour, **_count(people, bots)})

    def ranked(dim: str) -> list[dict[str, Any]]:
        items = [{"value": value, **_count(p, b)} for value, (p, b) in dims[dim].items()]
        return sorted(items, key=lambda i: (-i["plays"], i["value"]))

    over_time = [{"at": at, **_count(*dims["time"].get(at, (0, 0)))} for at in time_points(period, dims["time"])]
    people = sum(p for p, _ in dims["time"].values())
    bots = sum(b for _, b in dims["time"].values())
    return {
        **period.fields(),
        "totals": _count(people, bots),
        "heatmap": heatmap,
        "by_source": ranked("source"),
        "by_lang": ranked("lang"),
        "over_time": over_time,
    }
