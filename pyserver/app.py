"""The ASGI application: the API's routes, the built page at ``/`` (optional), CORS (optional)
and the error handlers, assembled into one Starlette app over one storage, with the security
headers on every response (errors included: they wrap even Starlette's outermost layer).

The endpoints are in ``routes.py``, the error envelope in ``responses.py``, the page in
``static.py``, the security headers in ``security.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import DEFAULT_TOKEN_TTL, TokenIssuer
from .responses import EXCEPTION_HANDLERS
from .routes import ProgressApi
from .security import SecurityHeaders
from .static import StaticWeb
from .storage import Storage

__all__ = ["create_app"]


class _App(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    raise HTTPException(status_code=404)  # answered in the API's error envelope


def create_app(
    storage: Storage,
    secret: str,
    *,
    web_dir: Path | None = None,
    cors_origins: Sequence[str] = (),
    token_ttl: int = DEFAULT_TOKEN_TTL,
    close_storage: bool = False,
) -> Starlette:
    """The app. With ``web_dir`` it also serves the built page at ``/`` (same origin)."""
    api = ProgressApi(storage, TokenIssuer(secret), token_ttl)
    routes = api.routes()
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
    return app
