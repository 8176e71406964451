"""The API's endpoints and the paths they answer at: progress (GET and PUT), login, health and
the OpenAPI document.

Each endpoint authenticates, checks its parameters (a PUT also its user's rate and, in the
append's transaction, their quota: ``write_limits.py``) and hands the blocking work (validation
of large bodies, the database, password hashing) to a thread pool. Of two differing copies of
one eventId the server keeps the one the clients keep (:func:`replaces_stored_copy`). A GET body
is assembled from the stored event texts and the cached snapshot text, without parsing or
re-serializing them.
"""

from __future__ import annotations

import json
import time

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pyclient.core.codec import parse_events
from pyclient.core.eventlog import preferred_copy
from pyclient.core.models import PutProgressRequest

from .api_models import LoginData, LoginRequest, LoginResponse
from .auth import Authenticator, TokenIssuer
from .cursor import DEFAULT_LIMIT, MAX_LIMIT, CursorCodec, InvalidCursor
from .errors import ApiError
from .jwks import JwksVerifier
from .login_limits import LoginLimiter
from .metrics import Metrics
from .openapi import build_openapi
from .request_body import LOGIN_MAX_BODY, parse_body, read_json_body
from .responses import json_response
from .snapshots import SnapshotCache
from .storage import QuotaExceeded, Storage
from .write_limits import WriteLimiter, quota_error

__all__ = ["ProgressApi"]

_PROGRESS_QUERY = frozenset(["since", "limit"])


class ProgressApi:
    """The endpoints, bound to one storage, one token issuer and one snapshot cache."""

    def __init__(
        self,
        storage: Storage,
        issuer: TokenIssuer,
        token_ttl: int,
        jwks: JwksVerifier | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.storage = storage
        self.metrics = metrics if metrics is not None else Metrics()
        self.issuer = issuer
        self.auth = Authenticator(issuer, jwks)
        self.token_ttl = token_ttl
        self.cursors = CursorCodec(issuer.secret)
        self.snapshots = SnapshotCache(storage, on_fold=self.metrics.observe_fold)
        self.login_limiter = LoginLimiter(storage)
        self.write_limiter = WriteLimiter()
        self.openapi_body = json.dumps(build_openapi(), separators=(",", ":"))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v1/learning/progress", self.progress, methods=["GET", "PUT"]),
            Route("/api/v1/auth/login", self.login, methods=["POST"]),
            Route("/api/v1/health", self.health, methods=["GET"]),
            Route("/api/v1/health/live", self.live, methods=["GET"]),
            Route("/api/v1/health/ready", self.ready, methods=["GET"]),
            Route("/api/v1/openapi.json", self.openapi, methods=["GET"]),
        ]

    async def _user(self, request: Request) -> str:
        return await self.auth.user_id(request.headers.get("authorization"))

    async def progress(self, request: Request) -> Response:
        if request.method == "PUT":
            return await self.put_progress(request)
        return await self.get_progress(request)

    async def get_progress(self, request: Request) -> Response:
        user_id = await self._user(request)
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
            # ASCII digits only (str.isdigit() also takes "²", which int() refuses), and few.
            digits = raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 9
            if not digits or not 1 <= int(raw_limit) <= MAX_LIMIT:
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
        return json_response(body)

    async def put_progress(self, request: Request) -> Response:
        user_id = await self._user(request)
        try:
            await self.write_limiter.admit_put(user_id)
        except ApiError:
            self.metrics.throttled.labels("put").inc()
            raise
        body = await read_json_body(request)
        await run_in_threadpool(self._put_progress, user_id, body)
        return json_response('{"ok":true}')

    def _put_progress(self, user_id: str, body: bytes) -> None:
        put = parse_body(PutProgressRequest, body)
        events = [(event.event_id, _zero_signed(event).model_dump_json()) for event in put.events]
        if not events:
            return
        try:
            result = self.storage.append_events(
                user_id, events, quota=self.write_limiter.quota, replaces=replaces_stored_copy
            )
        except QuotaExceeded as exc:
            self.metrics.throttled.labels("quota").inc()
            raise quota_error(exc) from None
        self.metrics.events_stored.inc(result.stored)
        self.metrics.copies_replaced.inc(result.replaced)

    async def login(self, request: Request) -> Response:
        body = await read_json_body(request, LOGIN_MAX_BODY)
        login = parse_body(LoginRequest, body)
        email = login.email.strip().lower()
        try:
            user = await self.login_limiter.authenticate(request, email, login.password)
        except ApiError as exc:
            if exc.status == 429:
                self.metrics.throttled.labels("login").inc()
            elif exc.status == 401:
                self.metrics.login_failures.inc()
            raise
        token, expires = self.issuer.issue(user.user_id, self.token_ttl)
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(expires))
        response = LoginResponse(
            data=LoginData(token=token, user_id=user.user_id, expires_at=expires_at)
        )
        return json_response(response.model_dump_json())

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
        return json_response(json.dumps(body, separators=(",", ":")))

    async def live(self, request: Request) -> Response:
        """Liveness: the process answers (nothing else is checked)."""
        return json_response('{"ok":true,"data":{"status":"live"}}')

    async def ready(self, request: Request) -> Response:
        """Readiness: the database answers and its schema is the one this code is written for;
        else 503 ``not_ready`` (a load balancer sends no traffic here meanwhile)."""
        known = self.storage.known_schema_version
        try:
            version = await run_in_threadpool(self.storage.schema_version)
        except Exception:
            raise ApiError(503, "not_ready", "the database cannot be reached") from None
        if version != known:
            raise ApiError(
                503,
                "not_ready",
                f"the database's schema is version {version}, this server's is {known}",
            )
        body = {"ok": True, "data": {"status": "ready", "schemaVersion": version}}
        return json_response(json.dumps(body, separators=(",", ":")))

    async def openapi(self, request: Request) -> Response:
        return Response(self.openapi_body, media_type="application/json")


def replaces_stored_copy(new: str, stored: str) -> bool:
    """Whether a differing copy of a stored event replaces it: the clients' rule
    (:func:`pyclient.core.eventlog.preferred_copy`, the copy whose canonical JSON sorts first),
    so that the server keeps the copy every device keeps once it has seen both."""
    new_event, stored_event = parse_events(f"[{new},{stored}]")
    return preferred_copy(stored_event, new_event) is new_event


def _zero_signed[E: BaseModel](event: E) -> E:
    """``event`` with a score of ``-0.0`` stored as ``0.0``: the same score, one spelling."""
    payload = getattr(event, "payload", None)
    score = getattr(payload, "score", None)
    if isinstance(score, float) and score == 0.0 and payload is not None:
        return event.model_copy(update={"payload": payload.model_copy(update={"score": 0.0})})
    return event
