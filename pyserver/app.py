"""The ASGI application: the API's routes, the built page at ``/`` (optional), CORS (optional)
and the error handlers, assembled into one Starlette app over one storage.

The endpoints are in ``routes.py``, the error envelope in ``responses.py``, the page in
``static.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount

from .auth import DEFAULT_TOKEN_TTL, TokenIssuer
from .responses import EXCEPTION_HANDLERS
from .routes import ProgressApi
from .static import StaticWeb
from .storage import Storage

__all__ = ["create_app"]


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
        routes.append(Mount("/", app=StaticWeb(directory=web_dir, html=True), name="web"))
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

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.api = api
    return app
