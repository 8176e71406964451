"""Serving the built page (``dist/web``) from the API's own origin like a production static site,
with ServeStatic (the ASGI app of the WhiteNoise lineage) instead of hand-written file serving:

- the precompressed ``.br``/``.gz`` beside a file (build.py writes them) chosen by
  ``Accept-Encoding``, with ``Content-Encoding`` and ``Vary: Accept-Encoding``; identity else;
- ``ETag``/``Last-Modified`` and 304s, ``HEAD``, ranges; ``index.html`` at ``/`` too;
- ``Cache-Control: public, max-age=31536000, immutable`` on content-hashed paths (``HASHED_PATH``:
  ``app-<hash>/``, ``pyodide-<hash>/``, ``packages/<sha256>/``, ``…-<hash>.json``), ``no-cache`` on
  everything else (index.html, sw.js, the progress-client.js shim, build.json), so the entry
  points are revalidated and what they name is never fetched twice;
- the media types of ``STATIC_MEDIA_TYPES`` (``application/wasm`` for ``.wasm``, ...; ServeStatic
  adds ``charset=utf-8`` to ``text/*``); scripts/static_server.py serves the page the same way;
- the page's Content-Security-Policy (``security.page_csp`` with build.json's inline hashes);
- dotfiles and dot-directories never served (not listed, and a path with a segment that
  starts with ``.`` is never looked up), and ``/api/`` never looked up here: it always reaches
  the API.

ServeStatic reads the directory once; ``StaticWeb`` reads it again when build.json changes (the
build writes it last), so a rebuilt dist is served without a restart.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from servestatic import ServeStaticASGI
from starlette.types import ASGIApp, Receive, Scope, Send

from .security import page_csp

__all__ = ["HASHED_PATH", "IMMUTABLE", "STATIC_MEDIA_TYPES", "StaticWeb"]

STATIC_MEDIA_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".whl": "application/zip",
    ".ts": "text/plain",  # progress-client.d.ts, for host apps to read (not "video/mp2t")
    ".zip": "application/zip",
    ".html": "text/html",
    ".css": "text/css",
    ".py": "text/x-python",
    ".svg": "image/svg+xml",
}
#: A content-hashed path (the build's rule, buildsteps/files.py).
HASHED_PATH = re.compile(r"(?:^|/)(?:[a-z][a-z0-9-]*-)?[0-9a-f]{12}(?:/|\.[a-z0-9]+$)")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MANIFEST = "build.json"


def _hidden(path: str) -> bool:
    """Whether ``path`` (decoded) names a dotfile or something in a dot-directory (``/.env``,
    ``//.git/config``, ``/a/.b/c``), or climbs (``..``): never looked up in the directory."""
    return any(part.startswith(".") for part in path.replace("\\", "/").split("/"))


class _DistFiles(ServeStaticASGI):  # type: ignore[misc]  # untyped library
    """ServeStatic over one state of the dist: no dotfiles, index.html at ``/`` as well, and
    the one cache rule above."""

    def add_file_to_dictionary(
        self,
        url: str,
        path: str,
        root: str | os.PathLike[str] | None = None,
        stat_cache: dict[str, os.stat_result] | None = None,
    ) -> None:
        if any(part.startswith(".") for part in url.split("/")):
            return
        super().add_file_to_dictionary(url, path, root=root, stat_cache=stat_cache)
        if url == "/index.html":
            super().add_file_to_dictionary("/", path, root=root, stat_cache=stat_cache)

    def add_cache_headers(self, headers: Any, path: str, url: str) -> None:
        headers["Cache-Control"] = IMMUTABLE if self.immutable_file_test(path, url) else REVALIDATE


class StaticWeb:
    """The ASGI app serving `directory`; whatever it does not hold goes to `fallback`."""

    def __init__(self, directory: Path, fallback: ASGIApp) -> None:
        self.directory = Path(directory)
        self.fallback = fallback
        self._stamp: tuple[int, int] | None = None
        self._files: _DistFiles | None = None
        self.csp = page_csp()

    def _read(self) -> _DistFiles:
        try:
            st = (self.directory / MANIFEST).stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if self._files is None or stamp != self._stamp:
            inline = None
            if stamp is not None:
                inline = json.loads((self.directory / MANIFEST).read_text()).get("csp")
            self.csp = csp = page_csp(inline)

            def add_csp(headers: Any, path: str, url: str) -> None:
                headers["Content-Security-Policy"] = csp

            self._files = _DistFiles(
                self.fallback,
                root=self.directory,
                allow_all_origins=False,
                mimetypes=STATIC_MEDIA_TYPES,
                add_headers_function=add_csp,
                immutable_file_test=HASHED_PATH.pattern,
            )
            self._stamp = stamp
        return self._files

    def policy(self) -> str:
        """The page's Content-Security-Policy for the dist as it is now (build.json's hashes)."""
        self._read()
        return self.csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/api" or path.startswith("/api/") or _hidden(path):
            await self.fallback(scope, receive, send)
            return
        await self._read()(scope, receive, send)
