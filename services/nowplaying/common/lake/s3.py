"""The lake on S3-compatible object storage (``LAKE_URL=s3://bucket/prefix``), through obstore.

S3 has no rename, so a batch is written whole to ``.staging/<key>.<random>`` (a prefix no area
listing reaches) and committed by a server-side copy to its key with ``If-None-Match: *``: the server
refuses the copy if the key exists (412), so a commit never replaces a batch. The staging object is
deleted after the commit. A writer killed between the write and the commit leaves only the staging
object; ``sweep_temporaries`` deletes those older than an hour.

``move`` is a copy, then a delete of the source. Killed in between, the batch is at both places; the
next run finds it at its source again and redoes the move (the copy overwrites the same bytes).

Listings are paged by the client (``ListObjectsV2`` continuation tokens), so an area of any size lists
whole. Network errors and 5xx answers are retried with backoff for ``LAKE_S3_RETRY_TIMEOUT_S``; past
that the operation raises ``LakeUnavailable`` naming the lake, never the keys.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError

from nowplaying.common.lake import STALE_TEMPORARY_S, Batch, BatchMissing, Lake, LakeError, LakeUnavailable

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config, S3Store

    from nowplaying.common.config import Settings

STAGING = ".staging"
DOWNLOAD_CHUNK = 8 << 20


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, ``some/prefix``)."""
    scheme, _, rest = url.partition("://")
    if scheme not in ("s3", "s3a") or not rest:
        raise LakeError(f"LAKE_URL '{url}' is not of the form s3://bucket/prefix")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise LakeError(f"LAKE_URL '{url}' names no bucket")
    return bucket, prefix.strip("/")


class S3Lake(Lake):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        retry_timeout_s: float = 60.0,
        copy_if_not_exists: str = "header:If-None-Match:*",
    ) -> None:
        from obstore.store import S3Store

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        config: S3Config = {"region": region, "copy_if_not_exists": copy_if_not_exists}
        if endpoint:
            config["endpoint"] = endpoint
        if access_key_id and secret_access_key:
            config["access_key_id"] = access_key_id
            config["secret_access_key"] = secret_access_key
        client: ClientConfig = {"connect_timeout": "5s", "timeout": "60s"}
        if endpoint and endpoint.startswith("http://"):
            client["allow_http"] = True
        retry: RetryConfig = {
            "max_retries": 100,  # the retry timeout is the bound
            "retry_timeout": timedelta(seconds=retry_timeout_s),
            "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=5), "base": 2},
        }
        self.store: S3Store = S3Store(
            bucket, prefix=self.prefix or None, config=config, client_options=client, retry_config=retry
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Lake:
        bucket, prefix = parse_s3_url((settings.lake_url or "").strip())
        key_id = settings.lake_s3_access_key_id
        secret = settings.lake_s3_secret_access_key
        return cls(
            bucket,
            prefix,
            endpoint=settings.lake_s3_endpoint or None,
            region=settings.lake_s3_region,
            access_key_id=key_id.get_secret_value() if key_id else None,
            secret_access_key=secret.get_secret_value() if secret else None,
            retry_timeout_s=settings.lake_s3_retry_timeout_s,
            copy_if_not_exists=settings.lake_s3_copy_if_not_exists,
        )

    def __repr__(self) -> str:
        return f"S3Lake({self.url!r})"

    @contextmanager
    def _answering(self, what: str) -> Iterator[None]:
        """Storage errors other than 'not found' and 'exists' become ``LakeUnavailable``."""
        try:
            yield
        except (FileNotFoundError, AlreadyExistsError):
            raise  # obstore's "not found" is the built-in FileNotFoundError
        except (BaseError, ConnectionError, TimeoutError) as exc:
            detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise LakeUnavailable(f"the lake at {self.url} failed to {what}: {detail}") from None

    # --- Lake -------------------------------------------------------------------------------
    @contextmanager
    def local_file(self, batch: Batch) -> Iterator[Path]:
        handle, name = tempfile.mkstemp(prefix="nowplaying-lake-", suffix=f"-{batch.name}")
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as out, self._answering(f"read {batch.key}"):
                try:
                    result = obstore.get(self.store, batch.key)
                except FileNotFoundError:
                    raise BatchMissing(f"{batch.key} is not in the lake at {self.url}") from None
                for chunk in result.stream(min_chunk_size=DOWNLOAD_CHUNK):
                    out.write(chunk)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def hadoop_url(self, batch: Batch) -> str:
        return f"s3a://{self.bucket}/{self.prefix + '/' if self.prefix else ''}{batch.key}"

    def sweep_temporaries(self, older_than_s: float = STALE_TEMPORARY_S) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        stale: list[str] = []
        with self._answering("list its staging objects"):
            for chunk in obstore.list(self.store, f"{STAGING}/", chunk_size=1000):
                stale.extend(meta["path"] for meta in chunk if meta["last_modified"] <= cutoff)
            for path in stale:
                obstore.delete(self.store, path)
        return len(stale)

    # --- primitives -------------------------------------------------------------------------
    def _days(self, area: str) -> list[str]:
        with self._answering(f"list {area}/"):
            listing = obstore.list_with_delimiter(self.store, f"{area}/")
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in listing["common_prefixes"]]

    def _names(self, folder: str) -> list[str]:
        names: list[str] = []
        with self._answering(f"list {folder}"):
            for chunk in obstore.list(self.store, folder, chunk_size=1000):
                for meta in chunk:
                    rest = meta["path"][len(folder) :]
                    if rest and "/" not in rest:
                        names.append(rest)
        return names

    def _create(self, key: str, data: bytes) -> bool:
        staging = f"{STAGING}/{key}.{os.urandom(4).hex()}"
        with self._answering(f"write {key}"):
            obstore.put(self.store, staging, data)
            try:
                self._commit(staging, key)
            except AlreadyExistsError:
                return False
            finally:
                obstore.delete(self.store, staging)
        return True

    def _commit(self, staging: str, key: str) -> None:
        """The commit of a create: a copy that the server refuses (412) if ``key`` exists."""
        obstore.copy(self.store, staging, key, overwrite=False)

    def _replace(self, key: str, data: bytes) -> None:
        with self._answering(f"write {key}"):
            obstore.put(self.store, key, data)  # a PUT is atomic: visible whole or not at all

    def _exists(self, key: str) -> bool:
        with self._answering(f"look up {key}"):
            try:
                obstore.head(self.store, key)
            except FileNotFoundError:
                return False
        return True

    def _read(self, key: str) -> bytes:
        with self._answering(f"read {key}"):
            try:
                return bytes(obstore.get(self.store, key).bytes())
            except FileNotFoundError:
                raise BatchMissing(f"{key} is not in the lake at {self.url}") from None

    def _move(self, source: str, target: str) -> None:
        with self._answering(f"move {source}"):
            try:
                obstore.copy(self.store, source, target, overwrite=True)
            except FileNotFoundError:
                try:
                    obstore.head(self.store, target)
                except FileNotFoundError:
                    raise BatchMissing(f"{source} is not in the lake at {self.url}") from None
                return  # moved already (a redone move, or another run's)
            self._drop_moved(source)

    def _drop_moved(self, source: str) -> None:
        """The second half of a move: the source goes once its copy is at the target."""
        obstore.delete(self.store, source)
