"""Plays: the Data page's table (cursor paging) and the streamed exports."""

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.common.models import SOURCES
from nowplaying.gateway.context import ContextDep, StoreDep
from nowplaying.gateway.cursor import MAX_CURSOR_CHARS, Cursor, CursorError, decode_cursor, encode_cursor
from nowplaying.gateway.errors import ERROR_RESPONSES
from nowplaying.gateway.query import (
    BotsMode,
    PlayFilter,
    Position,
    Window,
    bucket_count,
    check_time,
    iter_window,
    read_page,
    resolve_window,
)
from nowplaying.gateway.rows import csv_lines, ndjson_lines, play_object, time_text
from nowplaying.gateway.schemas import Play, PlaysPage

log = get_logger(__name__)

SourceName = Literal["x", "mastodon", "bluesky", "sandbox"]
assert set(SourceName.__args__) == set(SOURCES)  # type: ignore[attr-defined]

StartParam = Annotated[
    datetime | None,
    Query(description="window start, inclusive (RFC 3339 with a zone); default: `end` minus 24 hours"),
]
EndParam = Annotated[datetime | None, Query(description="window end, exclusive (RFC 3339 with a zone); default: now")]


def play_filter(
    artist: Annotated[
        str | None, Query(max_length=200, description="case-insensitive substring of an artist name")
    ] = None,
    track: Annotated[
        str | None, Query(max_length=200, description="case-insensitive substring of the track name")
    ] = None,
    source: Annotated[SourceName | None, Query(description="only plays from this source")] = None,
    matched: Annotated[bool | None, Query(description="true: matched plays only; false: unmatched only")] = None,
    bots: Annotated[BotsMode, Query(description="bot accounts: include, exclude or only")] = "include",
) -> PlayFilter:
    return PlayFilter(artist=artist or None, track=track or None, source=source, matched=matched, bots=bots)


FilterDep = Annotated[PlayFilter, Depends(play_filter)]


def _resume(
    token: str, key: bytes, flt: PlayFilter, start: datetime | None, end: datetime | None
) -> tuple[Window, Position]:
    cursor = decode_cursor(token, key)
    if cursor.query != flt.digest():
        raise CursorError(
            "cursor_mismatch", "this cursor belongs to a query with other filters; send the same filters or no cursor"
        )
    window = Window.from_ms(cursor.start_ms, cursor.end_ms)
    if (start is not None and check_time("start", start) != window.start) or (
        end is not None and check_time("end", end) != window.end
    ):
        raise CursorError("cursor_mismatch", "this cursor belongs to another time window; omit start/end or keep them")
    if cursor.bucket_index >= bucket_count(window):
        raise CursorError("invalid_cursor", "invalid cursor: position outside its window")
    return window, Position(cursor.bucket_index, cursor.paging_state, cursor.last_key)


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["plays"], responses=ERROR_RESPONSES)
    max_limit = settings.page_size_max

    @api.get("/plays", response_model=PlaysPage, summary="Plays, newest first, one page at a time")
    def list_plays(
        context: ContextDep,
        store: StoreDep,
        flt: FilterDep,
        start: StartParam = None,
        end: EndParam = None,
        limit: Annotated[int, Query(ge=1, le=max_limit, description="page size")] = min(50, max_limit),
        cursor: Annotated[
            str | None, Query(max_length=MAX_CURSOR_CHARS, description="`next_cursor` of the previous page")
        ] = None,
    ) -> dict[str, Any]:
        if cursor:
            window, position = _resume(cursor, context.cursor_key, flt, start, end)
        else:
            window, position = resolve_window(start, end, context.clock()), Position()

        def fetch(bucket: str, size: int, state: bytes | None) -> tuple[list[dict[str, Any]], bytes | None]:
            return store.plays_page(bucket, window.start, window.end, size, state)

        page = read_page(fetch, window, flt, limit, position, context.budget)
        next_cursor = None
        if page.next_position is not None:
            nxt = page.next_position
            next_cursor = encode_cursor(
                Cursor(flt.digest(), window.start_ms, window.end_ms, nxt.bucket_index, nxt.paging_state, nxt.last_key),
                context.cursor_key,
            )
        return {
            "items": [play_object(row) for row in page.rows],
            "next_cursor": next_cursor,
            "start": time_text(window.start),
            "end": time_text(window.end),
        }

    @api.get(
        "/plays/export",
        summary="Every play of a window, streamed as CSV (the enriched CSV columns) or JSON lines",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "the plays, newest first",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": Play.model_json_schema()},
                },
            }
        },
    )
    def export_plays(
        context: ContextDep,
        store: StoreDep,
        flt: FilterDep,
        start: StartParam = None,
        end: EndParam = None,
        format: Annotated[Literal["csv", "json"], Query(description="csv or json (JSON lines)")] = "csv",
    ) -> StreamingResponse:
        window = resolve_window(start, end, context.clock())

        def plays() -> Iterator[dict[str, Any]]:
            rows = iter_window(lambda bucket: store.plays_all(bucket, window.start, window.end), window, flt)
            count = 0
            try:
                for row in rows:
                    count += 1
                    yield play_object(row)
            except Exception as exc:
                log.error("export_failed", rows_sent=count, error=type(exc).__name__, detail=str(exc)[:200])
                raise
            log.info("export_done", rows=count, format=format)

        stamp = f"{window.start:%Y%m%dT%H%M%SZ}-{window.end:%Y%m%dT%H%M%SZ}"
        if format == "csv":
            body, media, suffix = csv_lines(plays()), "text/csv; charset=utf-8", "csv"
        else:
            body, media, suffix = ndjson_lines(plays()), "application/x-ndjson", "ndjson"
        return StreamingResponse(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="plays-{stamp}.{suffix}"'},
        )

    return api
