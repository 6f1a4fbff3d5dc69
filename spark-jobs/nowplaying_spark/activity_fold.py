"""An increment's listening activity, folded on plain data (issue 21).

The activity of a few segments is a few dozen rows (per segment: the total, each source, each
language), and the periods they touch hold a few hundred. An increment therefore folds them in the
driver: one Spark job collects the segments' new activity, and these pure functions turn it, with
the segments' stored activity and the touched periods' stored rows, into the rows to write and the
rows to delete. A full run folds the same definitions in Spark (``periods._fold_activity``); the
integration test checks that both give identical tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from nowplaying.common.aggjournal import bucket_of
from nowplaying.common.periods import periods_of_bucket

Key = tuple[str, str, str]  # (segment or period, dim, value)
Counts = tuple[int, int]  # (people plays, bot plays)


def differences(new: Mapping[Key, Counts], old: Mapping[Key, Counts]) -> dict[Key, Counts]:
    """new - old per key (a side without the key counts 0); keys whose difference is zero dropped."""
    out: dict[Key, Counts] = {}
    for key in new.keys() | old.keys():
        new_people, new_bots = new.get(key, (0, 0))
        old_people, old_bots = old.get(key, (0, 0))
        diff = (new_people - old_people, new_bots - old_bots)
        if diff != (0, 0):
            out[key] = diff
    return out


def period_differences(segment_differences: Mapping[Key, Counts]) -> dict[Key, Counts]:
    """Segment differences summed into the five periods of each segment's bucket: 'source' and 'lang'
    as they are; the 'total' row as the period's heatmap cell ('how') and its 'over time' point."""
    out: dict[Key, list[int]] = defaultdict(lambda: [0, 0])

    def add(key: Key, counts: Counts) -> None:
        out[key][0] += counts[0]
        out[key][1] += counts[1]

    for (segment, dim, value), counts in segment_differences.items():
        for period, time_point, how in periods_of_bucket(bucket_of(segment)):
            if dim == "total":
                add((period, "how", how), counts)
                add((period, "time", time_point), counts)
            else:
                add((period, dim, value), counts)
    return {key: (people, bots) for key, (people, bots) in out.items() if (people, bots) != (0, 0)}


def merged_rows(
    period_diffs: Mapping[Key, Counts], stored: Mapping[Key, Counts]
) -> tuple[dict[Key, Counts], list[Key]]:
    """(rows to write, keys to delete): each changed period row is its stored counts plus the
    difference; a row whose plays fall to zero is deleted."""
    upserts: dict[Key, Counts] = {}
    deletes: list[Key] = []
    for key, (dp, db) in sorted(period_diffs.items()):
        people, bots = stored.get(key, (0, 0))
        people, bots = people + dp, bots + db
        if people + bots == 0:
            deletes.append(key)
        else:
            upserts[key] = (people, bots)
    return upserts, deletes


def touched_periods(segments: Iterable[str]) -> list[str]:
    """The period keys whose activity the segments' plays belong to."""
    buckets = {bucket_of(segment) for segment in segments}
    return sorted({period for bucket in buckets for period, _, _ in periods_of_bucket(bucket)})
