"""Explain a match (public) and correct one (admin, behind ``ADMIN_TOKEN``)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path

from nowplaying.common.config import Settings
from nowplaying.common.logging import get_logger
from nowplaying.gateway.context import ContextDep, MatchesDep
from nowplaying.gateway.errors import ERROR_RESPONSES, ApiError
from nowplaying.gateway.explainwords import with_words
from nowplaying.gateway.matchschemas import MatchChange, MatchChanged, OverrideValue, PlayExplanation
from nowplaying.gateway.matchstore import MatchStore, OverrideRow
from nowplaying.gateway.routes.plays import SourceName
from nowplaying.gateway.rows import time_text
from nowplaying.gateway.schemas import ErrorResponse

log = get_logger(__name__)

OVERRIDE = "override"
KEY_PREFIXES = ("p:", "q:", "id:")  # a reading's match-cache key (not a whole walk's 'w:')
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "Unknown play"}}
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong admin token"},
    404: {"model": ErrorResponse, "description": "The admin API is off (ADMIN_TOKEN unset), or an unknown play"},
}


def require_admin(
    context: ContextDep,
    authorization: Annotated[str | None, Header(description="`Bearer <ADMIN_TOKEN>`")] = None,
) -> None:
    """404 while ``ADMIN_TOKEN`` is unset (the endpoint is off); 401 unless the bearer token is it,
    compared in constant time."""
    secret = context.settings.admin_token
    expected = secret.get_secret_value() if secret is not None else ""
    if not expected:
        raise ApiError(404, "not_found", "Not Found")
    scheme, _, given = (authorization or "").partition(" ")
    ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))
    if not ok:
        log.warning("admin_refused", reason="missing token" if not authorization else "wrong token")
        raise ApiError(401, "unauthorized", "a valid admin token is required (Authorization: Bearer <token>)")


def _key_of_play(matches: MatchStore, source: str, post_id: str) -> str:
    """The key a correction of this play changes: the reading that matched, else its first reading."""
    row = matches.play(source, post_id)
    if row is None:
        raise ApiError(404, "not_found", f"no play {source}/{post_id} has been enriched")
    explanation = orjson.loads(row["explain"] or "{}")
    readings = explanation.get("readings") or []
    chosen = (explanation.get("decision") or {}).get("reading")
    for reading in readings:
        if reading.get("index") == chosen and reading.get("key"):
            return str(reading["key"])
    keys = list(row.get("match_keys") or [])
    if not keys:
        raise ApiError(422, "validation_error", f"play {source}/{post_id} has no reading to correct")
    return str(keys[0])


def _value(row: OverrideRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "track_id": row.track_id,
        "not_a_song": row.not_a_song,
        "set_by": row.set_by,
        "set_at": time_text(row.set_at),
    }


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["matches"], responses=ERROR_RESPONSES)

    @api.get(
        "/plays/{source}/{post_id}/explain",
        response_model=PlayExplanation,
        response_model_by_alias=True,
        responses=NOT_FOUND,
        summary="Why a play matched its track, or stayed unmatched, as decided when it was enriched",
    )
    def explain_play(
        matches: MatchesDep,
        source: SourceName,
        post_id: Annotated[str, Path(min_length=1, max_length=200)],
    ) -> dict[str, Any]:
        row = matches.play(source, post_id)
        if row is None:
            raise ApiError(404, "not_found", f"no explanation for play {source}/{post_id}")
        return {
            "source": row["source"],
            "post_id": row["post_id"],
            "played_at": time_text(row.get("played_at")),
            "enriched_at": time_text(row.get("enriched_at")),
            "match_keys": list(row.get("match_keys") or []),
            "track_id": row.get("track_id") or None,
            "method": row.get("method"),
            "corrected": row.get("method") == OVERRIDE,
            "explanation": with_words(orjson.loads(row["explain"] or "{}")),
        }

    @api.put(
        "/matches",
        response_model=MatchChanged,
        responses=ADMIN_ERRORS,
        dependencies=[Depends(require_admin)],
        summary="Correct a match (admin): a normalized query or a play, to a track id or 'not a song'",
    )
    def put_match(context: ContextDep, matches: MatchesDep, change: MatchChange) -> dict[str, Any]:
        by_key = change.query_key is not None
        by_play = change.source is not None and change.post_id is not None
        half_play = (change.source is None) != (change.post_id is None)
        if by_key == by_play or half_play:
            raise ApiError(422, "validation_error", "give either 'query_key', or 'source' and 'post_id'")
        if (change.track_id is None) != change.not_a_song:
            raise ApiError(422, "validation_error", "give either 'track_id', or 'not_a_song': true")
        if change.query_key is not None:
            key = change.query_key
            if not key.startswith(KEY_PREFIXES):
                raise ApiError(422, "validation_error", "'query_key' must be a reading's key (p:…, q:… or id:…)")
        else:
            assert change.source is not None and change.post_id is not None
            key = _key_of_play(matches, change.source, change.post_id)
        old = matches.override(key)
        now = context.clock()
        new = OverrideRow(change.track_id, change.not_a_song, change.by, now)
        if old is None or old.text != new.text:
            matches.set_override(key, new, old, now)
            log.info("match_override_set", query_key=key, by=change.by, old=old.text if old else "", new=new.text)
        else:
            new = old
        return {
            "query_key": key,
            "old": _value(old),
            "new": OverrideValue(**(_value(new) or {})).model_dump(),
            "plays_known": matches.plays_known(key),
        }

    return api
