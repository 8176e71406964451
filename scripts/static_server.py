"""A static file server for dist/web on 127.0.0.1 (no API): used by scripts/serve when pyserver
is not available, by the browser tests and by bench/page_load.py.

It serves the page exactly as pyserver does (`pyserver.static.StaticWeb`, ServeStatic under
uvicorn: precompressed variants, immutable hashed paths, the media types, the security headers),
only without the API.

    python scripts/static_server.py dist/web [--port 8000]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path

import uvicorn
from starlette.types import Receive, Scope, Send

from pyserver.security import SecurityHeaders
from pyserver.static import StaticWeb


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"Not Found"})


class _Extra:
    """Fixed bodies at fixed paths (a benchmark's own pages), with the page's policy."""

    def __init__(self, web: StaticWeb, extra: dict[str, tuple[str, bytes]]) -> None:
        self.web = web
        self.extra = extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.extra:
            await self.web(scope, receive, send)
            return
        ctype, body = self.extra[scope["path"]]
        headers = [
            (b"content-type", ctype.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-cache"),
            (b"content-security-policy", self.web.policy().encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class StaticServer:
    """Serve `directory` on 127.0.0.1 in a background thread; `extra` maps paths to (type, body)."""

    def __init__(
        self,
        directory: Path,
        port: int = 0,
        extra: dict[str, tuple[str, bytes]] | None = None,
        verbose: bool = False,
    ) -> None:
        app = SecurityHeaders(_Extra(StaticWeb(Path(directory), _not_found), dict(extra or {})))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", access_log=verbose,
            log_level="info" if verbose else "warning",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> StaticServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the static server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


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
