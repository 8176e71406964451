"""The ASGI application: the API's routes, the built page at ``/`` (optional), CORS (optional)
and the error handlers, assembled into one Starlette app over one storage, with the security
headers on every response (errors included: they wrap even Starlette's outermost layer).

The endpoints are in ``routes.py``, the error envelope in ``responses.py``, the page in
``static.py``, the security headers in ``security.py``. Any other request under ``/api/`` is
answered here in the envelope: 405 with ``Allow`` (every method of the path, sorted) when the
path exists, else 404; it never reaches the page's files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import DEFAULT_TOKEN_TTL, TokenIssuer
from .errors import ApiError
from .jwks import JwksVerifier
from .metrics import Instrumented
from .request_body import BODY_TIMEOUT
from .responses import EXCEPTION_HANDLERS
from .routes import ProgressApi
from .security import SecurityHeaders
from .static import StaticWeb
from .storage import Storage

__all__ = ["create_app"]


class _App(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        stack = SecurityHeaders(super().build_middleware_stack())
        api: ProgressApi = self.state.api
        return Instrumented(stack, api.metrics, json_access_log=self.state.json_access_log)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    raise HTTPException(status_code=404)  # answered in the API's error envelope


class _NotRouted:
    """The last API route: 405 with ``Allow`` for a known path, 404 for an unknown one."""

    def __init__(self, api_routes: Sequence[BaseRoute]) -> None:
        self.known = [r for r in api_routes if isinstance(r, Route)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        routes = [r for r in self.known if r.path_regex.match(path)]
        allowed = sorted({m for r in routes for m in r.methods or ()})
        if allowed:
            allow = ", ".join(allowed)
            raise ApiError(
                405,
                "method_not_allowed",
                f"{method} is not allowed here; allowed: {allow}",
                headers={"Allow": allow},
            )
        raise HTTPException(status_code=404)


def create_app(
    storage: Storage,
    secret: str,
    *,
    web_dir: Path | None = None,
    cors_origins: Sequence[str] = (),
    token_ttl: int = DEFAULT_TOKEN_TTL,
    close_storage: bool = False,
    body_timeout: float = BODY_TIMEOUT,
    jwks: JwksVerifier | None = None,
    json_access_log: bool = False,
) -> Starlette:
    """The app. With ``web_dir`` it also serves the built page at ``/`` (same origin). A request
    body must arrive within ``body_timeout`` seconds (else 408). With ``jwks`` it also accepts
    tokens from that identity provider (``config.jwks_verifier()`` makes it from the
    environment)."""
    api = ProgressApi(storage, TokenIssuer(secret), token_ttl, jwks)
    routes = api.routes()
    routes.append(Route("/metrics", api.metrics.endpoint, methods=["GET"]))
    routes.append(Route("/api/{rest:path}", _NotRouted(routes), include_in_schema=False))
    if web_dir is not None:
        routes.append(Mount("/", app=StaticWeb(web_dir, fallback=_not_found), name="web"))
    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "PUT", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                expose_headers=["Retry-After"],
                max_age=600,
            )
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_storage:
                storage.close()

    app = _App(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.api = api
    app.state.json_access_log = json_access_log
    app.state.body_timeout = body_timeout
    return app
