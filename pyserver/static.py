"""Serving the built page (``dist/web``) from the API's own origin, and the media types it needs.

``STATIC_MEDIA_TYPES`` is the one table of the types Pyodide and browsers insist on
(``application/wasm`` for ``.wasm``, JavaScript for ``.mjs``, ...); ``scripts/static_server.py``
serves the page without the API using the same table. Every file is sent with
``Cache-Control: no-cache``, so a rebuilt page is never shadowed by a stale browser cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["STATIC_MEDIA_TYPES", "StaticWeb"]

STATIC_MEDIA_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
    ".svg": "image/svg+xml",
}


class StaticWeb(StaticFiles):
    """The built page, with the media types Pyodide and browsers insist on."""

    def file_response(
        self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = STATIC_MEDIA_TYPES.get(Path(str(full_path)).suffix.lower())
        if media_type is not None and "content-type" in response.headers:
            response.headers["content-type"] = media_type
        response.headers["Cache-Control"] = "no-cache"
        return response
