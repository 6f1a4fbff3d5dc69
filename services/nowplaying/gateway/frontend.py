"""The built frontend (``FRONTEND_DIST``) at ``/``, with the single-page-app fallback to ``index.html``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

NOT_BUILT = (
    "<!doctype html><html><head><meta charset='utf-8'><title>nowplaying</title></head><body>"
    "<h1>nowplaying</h1><p>The frontend is not built. Run <code>make frontend</code> (or <code>make setup</code>), "
    "or open the API at <a href='/api/docs'>/api/docs</a>.</p></body></html>"
)
RESERVED = ("api", "healthz", "readyz", "metrics")


def resolve_static(dist: Path, path: str) -> Path | None:
    """The file under ``dist`` that ``path`` names, or None (never a file outside ``dist``)."""
    if not path or "\x00" in path:
        return None
    root = dist.resolve()
    try:
        candidate = (root / path).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def router(dist: Path) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    index = dist / "index.html"

    @api.get("/")
    def home() -> Response:
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(NOT_BUILT)

    @api.get("/{path:path}")
    def spa(path: str) -> Response:
        if path.split("/", 1)[0] in RESERVED:
            raise HTTPException(404, f"no such path: /{path}")
        if not index.is_file():
            raise HTTPException(404, "the frontend is not built")
        found = resolve_static(dist, path)
        if found is not None:
            cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return api
