"""The ASGI application: routes, limits, authentication, and the error envelope.

Every refusal answers ``{ok: false, error: {code, message, details?}}`` with its status; an
unexpected failure answers 500 ``internal_error`` and never a stack trace. Blocking work
(validation of large bodies, the database, password hashing) runs in a thread pool.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from pyclient.core.models import PutProgressRequest

from .api_models import LoginData, LoginRequest, LoginResponse
from .auth import (
    DEFAULT_TOKEN_TTL,
    LoginThrottle,
    TokenIssuer,
    hash_password,
    verify_password,
)
from .cursor import CursorCodec, InvalidCursor
from .errors import ApiError, Unauthorized
from .openapi import build_openapi
from .snapshots import SnapshotCache
from .static import StaticWeb
from .storage import Storage

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_BODY_BYTES",
    "MAX_EVENTS",
    "MAX_LIMIT",
    "create_app",
]

MAX_EVENTS = 500
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000

_PROGRESS_QUERY = frozenset(["since", "limit"])
_API_HEADERS = {"Cache-Control": "no-store"}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}
# A real hash to verify against when the email is unknown, so both cases take as long.
_DUMMY_HASH = hash_password("not a password of anyone")


def _json_response(
    body: str | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**_API_HEADERS, **(headers or {})},
    )


def _error_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    text = json.dumps({"ok": False, "error": body}, separators=(",", ":"), default=str)
    return _json_response(text, error.status, error.headers)


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "type": e["type"], "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ][:50]


def _refuse_invalid(exc: ValidationError) -> ApiError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return ApiError(400, "invalid_json", "the body is not valid JSON")
    if any(e["type"] == "too_long" and tuple(e["loc"]) == ("events",) for e in errors):
        return ApiError(413, "too_many_events", f"at most {MAX_EVENTS} events per request")
    return ApiError(
        422, "validation_error", "the body does not match the contract", _validation_details(exc)
    )


async def _read_json_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "the body must be application/json")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(
                413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


class ProgressApi:
    """The endpoints, bound to one storage, one token issuer and one snapshot cache."""

    def __init__(self, storage: Storage, issuer: TokenIssuer, token_ttl: int) -> None:
        self.storage = storage
        self.issuer = issuer
        self.token_ttl = token_ttl
        self.cursors = CursorCodec(issuer.secret)
        self.snapshots = SnapshotCache(storage)
        self.throttle = LoginThrottle()
        self.openapi_body = json.dumps(build_openapi(), separators=(",", ":"))

    def _user(self, request: Request) -> str:
        return self.issuer.verify(request.headers.get("authorization"))

    async def progress(self, request: Request) -> Response:
        if request.method == "PUT":
            return await self.put_progress(request)
        return await self.get_progress(request)

    async def get_progress(self, request: Request) -> Response:
        user_id = self._user(request)
        params = request.query_params
        unknown = sorted(set(params.keys()) - _PROGRESS_QUERY)
        if unknown:
            raise ApiError(
                422,
                "validation_error",
                "unknown query parameter; use since and limit",
                [
                    {"loc": ["query", name], "type": "extra_forbidden", "msg": "unknown"}
                    for name in unknown
                ],
            )
        limit = DEFAULT_LIMIT
        raw_limit = params.get("limit")
        if raw_limit is not None:
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
                raise ApiError(
                    422,
                    "validation_error",
                    f"limit must be an integer from 1 to {MAX_LIMIT}",
                    [{"loc": ["query", "limit"], "type": "limit", "msg": "out of range"}],
                )
            limit = int(raw_limit)
        since = params.get("since")
        return await run_in_threadpool(self._get_progress, user_id, since, limit)

    def _get_progress(self, user_id: str, since: str | None, limit: int) -> Response:
        last = self.storage.last_position(user_id)
        after = 0
        if since is not None:
            try:
                after = self.cursors.decode(user_id, since)
            except InvalidCursor as exc:
                raise ApiError(400, "invalid_cursor", f"{exc}: start again without since") from None
            if after > last:
                raise ApiError(400, "invalid_cursor", "unknown cursor: start again without since")
        rows = self.storage.read_events(user_id, after, limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit]
        position = rows[-1][0] if rows else after
        snapshot = self.snapshots.snapshot_json(user_id, max(last, position))
        body = "".join(
            [
                '{"ok":true,"data":{"snapshot":',
                snapshot,
                ',"events":[',
                ",".join(body for _, body in rows),
                '],"cursor":',
                json.dumps(self.cursors.encode(user_id, position)),
                ',"hasMore":',
                "true" if has_more else "false",
                "}}",
            ]
        )
        return _json_response(body)

    async def put_progress(self, request: Request) -> Response:
        user_id = self._user(request)
        body = await _read_json_body(request)
        await run_in_threadpool(self._put_progress, user_id, body)
        return _json_response('{"ok":true}')

    def _put_progress(self, user_id: str, body: bytes) -> None:
        try:
            put = PutProgressRequest.model_validate_json(body)
        except ValidationError as exc:
            raise _refuse_invalid(exc) from None
        events = [(event.event_id, event.model_dump_json()) for event in put.events]
        if events:
            self.storage.append_events(user_id, events)

    async def login(self, request: Request) -> Response:
        body = await _read_json_body(request)
        try:
            login = LoginRequest.model_validate_json(body)
        except ValidationError as exc:
            raise _refuse_invalid(exc) from None
        email = login.email.strip().lower()
        self.throttle.check(email)
        user = await run_in_threadpool(self.storage.find_user, email)
        ok = await run_in_threadpool(
            verify_password, user.password_hash if user else _DUMMY_HASH, login.password
        )
        if user is None or not ok:
            self.throttle.failed(email)
            raise Unauthorized("invalid_credentials", "wrong email or password")
        self.throttle.succeeded(email)
        token, expires = self.issuer.issue(user.user_id, self.token_ttl)
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(expires))
        response = LoginResponse(
            data=LoginData(token=token, user_id=user.user_id, expires_at=expires_at)
        )
        return _json_response(response.model_dump_json())

    async def health(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.storage.ping)
            version = await run_in_threadpool(self.storage.schema_version)
        except Exception:
            raise ApiError(500, "database_unavailable", "the database cannot be reached") from None
        body = {
            "ok": True,
            "data": {"status": "ok", "backend": self.storage.backend, "schemaVersion": version},
        }
        return _json_response(json.dumps(body, separators=(",", ":")))

    async def openapi(self, request: Request) -> Response:
        return Response(self.openapi_body, media_type="application/json")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return _error_response(ApiError(exc.status_code, code, message, headers=headers))


async def _internal_error(request: Request, exc: Exception) -> Response:
    return _error_response(ApiError(500, "internal_error", "internal server error"))


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
    routes: list[BaseRoute] = [
        Route("/api/v1/learning/progress", api.progress, methods=["GET", "PUT"]),
        Route("/api/v1/auth/login", api.login, methods=["POST"]),
        Route("/api/v1/health", api.health, methods=["GET"]),
        Route("/api/v1/openapi.json", api.openapi, methods=["GET"]),
    ]
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
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.api = api
    return app
