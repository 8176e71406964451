"""A small static file server for dist/web on 127.0.0.1 (no API): used by scripts/serve when
pyserver is not available, by the browser tests and by bench/page_load.py.

It sends the media types pyserver sends for the page (`pyserver.static.STATIC_MEDIA_TYPES`:
.mjs/.wasm/.whl, ...) and `Cache-Control: no-cache`, so that a rebuilt dist is never shadowed
by a stale browser cache.

    python scripts/static_server.py dist/web [--port 8000]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from pyserver.static import STATIC_MEDIA_TYPES


class _Handler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        **STATIC_MEDIA_TYPES,
    }
    extra: ClassVar[dict[str, tuple[str, bytes]]] = {}  # replaced per server

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in self.extra:
            ctype, body = self.extra[path]
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


class StaticServer:
    """Serve `directory` on 127.0.0.1 in a background thread; `extra` maps paths to (type, body)."""

    def __init__(
        self,
        directory: Path,
        port: int = 0,
        extra: dict[str, tuple[str, bytes]] | None = None,
        verbose: bool = False,
    ) -> None:
        handler = type("Handler", (_Handler,), {"extra": dict(extra or {})})
        self.httpd = ThreadingHTTPServer(
            ("127.0.0.1", port), functools.partial(handler, directory=str(directory))
        )
        self.httpd.daemon_threads = True
        self.httpd.verbose = verbose  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StaticServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a built dist on 127.0.0.1.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not (args.directory / "index.html").is_file():
        print(f"{args.directory}/index.html is missing: run build.py first.", file=sys.stderr)
        return 1
    with StaticServer(args.directory, args.port, verbose=True) as server:
        print(
            f"Serving {args.directory} at {server.url} (static, no API); Ctrl-C stops.", flush=True
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
