"""UTC calendar periods of the period aggregates (issue 21), shared by the Spark job and the gateway.

A period is named by a text key: ``day:YYYY-MM-DD``, ``week:YYYY-MM-DD`` (the Monday of the ISO week),
``month:YYYY-MM``, ``year:YYYY`` or ``all``. A play belongs to the five periods that contain the UTC
hour of its ``plays_by_hour`` bucket.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal, get_args

PeriodKind = Literal["day", "week", "month", "year", "all"]
PERIOD_KINDS: tuple[str, ...] = get_args(PeriodKind)
ENTITIES = ("track", "artist")
AUDIENCES = ("all", "people", "bots")


def period_key(kind: str, day: date) -> str:
    """The key of the ``kind`` period that contains ``day``."""
    if kind == "day":
        return f"day:{day.isoformat()}"
    if kind == "week":
        return f"week:{(day - timedelta(days=day.weekday())).isoformat()}"
    if kind == "month":
        return f"month:{day.year:04d}-{day.month:02d}"
    if kind == "year":
        return f"year:{day.year:04d}"
    if kind == "all":
        return "all"
    raise ValueError(f"unknown period '{kind}'; choose from {', '.join(PERIOD_KINDS)}")


def period_bounds(kind: str, day: date) -> tuple[date | None, date | None]:
    """First and last day of the period containing ``day`` (None, None for ``all``)."""
    if kind == "day":
        return day, day
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if kind == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    if kind == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if kind == "all":
        return None, None
    raise ValueError(f"unknown period '{kind}'")


def bucket_hour(bucket: str) -> datetime:
    """The UTC hour of a ``plays_by_hour`` bucket 'YYYY-MM-DDTHH' (naive, UTC)."""
    return datetime.strptime(bucket, "%Y-%m-%dT%H")


def how_value(bucket: str) -> str:
    """The heatmap cell of a bucket: ISO weekday (1 = Monday) and UTC hour, 'D-HH'."""
    hour = bucket_hour(bucket)
    return f"{hour.isoweekday()}-{hour.hour:02d}"


def time_value(kind: str, bucket: str) -> str:
    """The point of the 'over time' series of a ``kind`` period that a bucket falls on."""
    if kind == "day":
        return bucket[11:13]
    if kind in ("week", "month"):
        return bucket[:10]
    return bucket[:7]


def periods_of_bucket(bucket: str) -> list[tuple[str, str, str]]:
    """(period key, time value, heatmap cell) for each of the five periods containing the bucket."""
    day = bucket_hour(bucket).date()
    how = how_value(bucket)
    return [(period_key(kind, day), time_value(kind, bucket), how) for kind in PERIOD_KINDS]
