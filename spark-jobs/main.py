"""spark-submit entry point of the nowplaying Spark jobs.

    spark-submit --master k8s://https://kubernetes.default.svc --deploy-mode cluster \
        --conf spark.kubernetes.container.image=<image> --jars <connector jars> \
        local:///app/spark-jobs/main.py aggregate --days 2026-03-01..2026-03-02

The same code as `nowplaying aggregate` / `nowplaying backfill`; Cassandra and the lake come from the
environment (CASSANDRA_HOSTS, CASSANDRA_KEYSPACE, LAKE_DIR, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nowplaying_spark.cli import submit_main

if __name__ == "__main__":
    sys.exit(submit_main(sys.argv[1:]))
