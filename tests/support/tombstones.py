"""Count the tombstones a read meets, as Cassandra reports them in its query trace.

Every replica that reads a partition traces "Read N live rows and M tombstone cells" (the same
count that drives ``tombstone_warn_threshold``). A traced read of every hour bucket of
``plays_by_hour`` therefore shows how many tombstones the Data page, the charts and the Spark
aggregate would meet. Used by the tombstone tests and the load bench.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TRACE_READ = re.compile(r"Read (\d+) live rows and (\d+) tombstone cells")


@dataclass
class TracedReads:
    partitions: int = 0
    live_rows: int = 0
    tombstones: int = 0

    def add(self, other: TracedReads) -> None:
        self.partitions += other.partitions
        self.live_rows += other.live_rows
        self.tombstones += other.tombstones


def hour_buckets(start: datetime, end: datetime) -> list[str]:
    buckets, hour = [], start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        buckets.append(hour.strftime("%Y-%m-%dT%H"))
        hour += timedelta(hours=1)
    return buckets


def traced_read(session: Any, statement: Any, params: tuple[object, ...], fetch_size: int = 5000) -> TracedReads:
    """Read a whole partition with tracing on (every page); the live rows and tombstone cells the
    replicas reported. With several replicas, the one that read the most is counted."""
    bound = statement.bind(params)
    bound.fetch_size = fetch_size
    result = session.execute(bound, trace=True, timeout=120)
    for _ in result:  # every page, each traced
        pass
    per_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for trace in result.get_all_query_traces(max_wait_sec_per=60):
        for event in trace.events:
            match = TRACE_READ.search(event.description)
            if match:
                counts = per_source[str(event.source)]
                counts[0] += int(match.group(1))
                counts[1] += int(match.group(2))
    if not per_source:
        return TracedReads(partitions=1)
    live, tombstones = max(per_source.values())
    return TracedReads(partitions=1, live_rows=live, tombstones=tombstones)


def traced_hour_reads(session: Any, keyspace: str, buckets: Iterable[str]) -> TracedReads:
    """Traced reads of every given hour bucket of plays_by_hour, summed."""
    statement = session.prepare(f"SELECT * FROM {keyspace}.plays_by_hour WHERE bucket = ?")
    total = TracedReads()
    for bucket in buckets:
        total.add(traced_read(session, statement, (bucket,)))
    return total
