"""Errors as the API answers them: ``{"error": {"code", "message"}}``, never a stack trace."""

from __future__ import annotations

from typing import Any

from cassandra import DriverException, OperationTimedOut, ReadTimeout, Unavailable
from cassandra.cluster import NoHostAvailable
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nowplaying.common.cassandra import CassandraUnavailable
from nowplaying.common.logging import get_logger
from nowplaying.gateway.context import SchemaNotMigrated
from nowplaying.gateway.cursor import CursorError
from nowplaying.gateway.query import QueryError
from nowplaying.gateway.schemas import ErrorResponse

log = get_logger(__name__)

STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}

# Documented on every API operation, so the schema names every answer the gateway can give.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Parameters that do not fit together, or a bad cursor"},
    422: {"model": ErrorResponse, "description": "A parameter with a wrong type, range or value"},
    503: {"model": ErrorResponse, "description": "Cassandra cannot be reached"},
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(CursorError)
    async def _cursor_error(request: Request, exc: CursorError) -> JSONResponse:
        return error_response(400, exc.code, str(exc))

    @app.exception_handler(QueryError)
    async def _query_error(request: Request, exc: QueryError) -> JSONResponse:
        return error_response(400, "bad_request", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for problem in exc.errors():
            message = str(problem.get("msg", "invalid value"))
            details.append({"field": _field_name(problem.get("loc", ())), "message": message})
        summary = "; ".join(f"'{d['field']}': {d['message']}" for d in details[:3]) or "invalid request"
        return error_response(422, "validation_error", f"invalid parameter {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        response = error_response(exc.status_code, code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("cassandra_unavailable", path=request.url.path, error=type(exc).__name__, detail=str(exc)[:300])
        return error_response(503, "unavailable", "the database is not reachable right now; try again shortly")

    for kind in (CassandraUnavailable, NoHostAvailable, OperationTimedOut, Unavailable, ReadTimeout):
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(SchemaNotMigrated)
    async def _not_migrated(request: Request, exc: SchemaNotMigrated) -> JSONResponse:
        log.warning("schema_not_migrated", path=request.url.path, detail=str(exc)[:300])
        return error_response(503, "unavailable", "the database schema is not migrated yet; try again shortly")

    @app.exception_handler(DriverException)
    async def _driver_error(request: Request, exc: DriverException) -> JSONResponse:
        log.error("cassandra_error", path=request.url.path, error=type(exc).__name__, detail=str(exc)[:300])
        return error_response(503, "unavailable", "the database could not answer this request")

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request_failed", path=request.url.path, error=type(exc).__name__)
        return error_response(500, "internal_error", "internal error; it has been logged")
