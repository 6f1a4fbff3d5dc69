"""The one way to build a SparkSession for the jobs, locally and on Kubernetes.

Locally (``nowplaying aggregate``) the master is ``SPARK_MASTER`` (default ``local[*]``) and the
Spark Cassandra Connector comes from the jars in ``SPARK_JARS_DIR`` (``make setup`` puts them there;
no Ivy resolution at run time). Under ``spark-submit`` on Kubernetes the master, the image and the
jars come from the submit command; this code then only adds the Cassandra settings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger

log = get_logger(__name__)

DEFAULT_JAVA_HOMES = (
    Path("/usr/lib/jvm/java-17-openjdk-amd64"),
    Path("/usr/lib/jvm/java-17-openjdk"),
)
CONNECTOR_JAR_PREFIX = "spark-cassandra-connector_2.12-"


class SparkSetupError(RuntimeError):
    """Spark cannot start as configured (no JDK, no connector jars)."""


def connector_jars(jars_dir: Path) -> list[Path]:
    """Every jar of the connector's runtime, or a clear error naming the folder."""
    jars = sorted(jars_dir.glob("*.jar")) if jars_dir.is_dir() else []
    if not any(jar.name.startswith(CONNECTOR_JAR_PREFIX) for jar in jars):
        raise SparkSetupError(
            f"no {CONNECTOR_JAR_PREFIX}*.jar in {jars_dir} (SPARK_JARS_DIR); run `make setup` to fetch the "
            "Spark Cassandra Connector and its dependencies"
        )
    return jars


def cassandra_conf(settings: Settings) -> dict[str, str]:
    """The connector settings that point Spark at the configured Cassandra."""
    points = settings.cassandra_contact_points
    hosts = ",".join(host for host, _ in points) or "127.0.0.1"
    port = points[0][1] if points else settings.cassandra_port
    conf = {
        "spark.cassandra.connection.host": hosts,
        "spark.cassandra.connection.port": str(port),
        "spark.cassandra.connection.localDC": settings.cassandra_local_dc,
        "spark.cassandra.input.consistency.level": settings.consistency,
        "spark.cassandra.output.consistency.level": settings.consistency,
        # a missing value (null) is left unset rather than written as a tombstone cell
        "spark.cassandra.output.ignoreNulls": "true",
        "spark.sql.extensions": "com.datastax.spark.connector.CassandraSparkExtensions",
        # The jobs read plays by partition key (the 24 hour buckets of each day). As a direct join the
        # keys are read by parallel tasks; a plain IN would put every bucket in one task.
        "spark.cassandra.sql.inClauseToJoinConversionThreshold": "24",
    }
    if settings.cassandra_username:
        conf["spark.cassandra.auth.username"] = settings.cassandra_username
        if settings.cassandra_password:
            conf["spark.cassandra.auth.password"] = settings.cassandra_password.get_secret_value()
    return conf


def local_conf(settings: Settings, master: str) -> dict[str, str]:
    """Settings for an in-process (``local[...]``) run: the jars from SPARK_JARS_DIR, small shuffles, no UI."""
    jars = connector_jars(settings.spark_jars_dir)
    return {
        "spark.master": master,
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "4",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        # One executor, in this process: locality means nothing here, and waiting for it can hang a job.
        # The local backend offers its cores only when a task ends (no periodic revive, unlike a
        # cluster's). A task whose preferred location this executor does not match waits out its
        # locality timeout; if the last other task ends before that, no offer ever comes and the stage
        # stays pending with nothing running (the third run of tests/integration/test_spark_periods.py:
        # 18 of 19 tasks done, one never launched). Apache Spark SPARK-4939 / SPARK-37488 are the same.
        "spark.locality.wait": "0s",
    }


def _ensure_java(settings: Settings) -> None:
    if settings.java_home:
        os.environ["JAVA_HOME"] = str(settings.java_home)
        return
    if os.environ.get("JAVA_HOME"):
        return
    for home in DEFAULT_JAVA_HOMES:
        if (home / "bin" / "java").exists():
            os.environ["JAVA_HOME"] = str(home)
            return
    raise SparkSetupError("no JDK 17 found: set JAVA_HOME (Spark 3.5 runs on Java 17)")


def build_session(
    settings: Settings,
    *,
    app_name: str = "nowplaying",
    master: str | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> Any:
    """A SparkSession connected to the configured Cassandra.

    ``master`` None: the job runs under ``spark-submit``, which already set the master, the jars and
    the image; only the Cassandra settings are added. A ``local[...]`` master (``nowplaying aggregate``
    passes ``SPARK_MASTER``) gets the connector jars from ``SPARK_JARS_DIR`` and runs the Python
    workers with this interpreter.
    """
    from pyspark.sql import SparkSession

    conf: dict[str, str] = {"spark.sql.session.timeZone": "UTC"}
    chosen = master
    if chosen is not None and chosen.startswith("local"):
        _ensure_java(settings)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        # a local run stays on loopback (otherwise Spark picks the host's first non-loopback address)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        conf.update(local_conf(settings, chosen))
    elif chosen is not None:
        conf["spark.master"] = chosen
    conf.update(cassandra_conf(settings))
    conf.update(extra_conf or {})
    builder = SparkSession.builder.appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    log.info("spark_session", master=conf.get("spark.master", "(from spark-submit)"), app=app_name)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
