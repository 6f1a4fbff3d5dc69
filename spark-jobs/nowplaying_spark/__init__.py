"""PySpark jobs: daily aggregates and backfill over the raw lake."""
