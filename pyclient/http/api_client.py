"""The progress API seen from the client (DESIGN §4): requests, batching, and error mapping.

- ``GET {base}/learning/progress[?since=&limit=]``: one page; :meth:`ApiClient.pull` follows
  ``hasMore`` to the end.
- ``PUT {base}/learning/progress`` with ``{clientUpdatedAt, events}``; :func:`batch_events` cuts
  a push into requests of at most 500 events and under 1 MiB.
- ``POST {base}/auth/login`` gives a :class:`Session`.

Status codes map to errors by whose fault they are: 401 → :class:`SessionExpiredError`;
408, 429 and 5xx → a retryable :class:`ApiError` (with ``Retry-After`` in ms when sent);
any other 4xx → a permanent :class:`ApiError`. No answer at all → :class:`NetworkError`
(raised by the transport). An answer that is not the contract → a retryable ``ApiError``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from ..core.codec import dump_events, gc_paused
from ..core.limits import MAX_BODY_BYTES, MAX_EVENTS_PER_PUT
from ..core.models import ErrorEnvelope, Event, GetProgressData, GetProgressResponse
from ..errors import ApiError, SessionExpiredError
from ..ports import Clock, HttpResponse, Transport

__all__ = [
    "MAX_BATCH_BYTES",
    "ApiClient",
    "PullResult",
    "Session",
    "batch_events",
    "error_for_response",
    "put_body",
]

#: A batch stays a little under the server's byte limit.
MAX_BATCH_BYTES: Final = MAX_BODY_BYTES - 4096


@dataclass(frozen=True)
class Session:
    """A signed-in user: the bearer token and who it names."""

    user_id: str
    token: str
    expires_at: str | None = None


@dataclass(frozen=True)
class PullResult:
    """Every event after a cursor (all pages), the last page's snapshot and the new cursor."""

    events: list[Event]
    cursor: str
    snapshot_json: str | None = None


class _LoginData(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="ignore")
    token: str
    user_id: str
    expires_at: str | None = None


class _LoginResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ok: bool
    data: _LoginData


def put_body(events: Sequence[Event], client_updated_at: str) -> bytes:
    """The PUT body: exactly ``{clientUpdatedAt, events}``, events as stored (no metadata)."""
    return (
        f'{{"clientUpdatedAt":{json.dumps(client_updated_at)},"events":{dump_events(events)}}}'
    ).encode()


def batch_events(
    events: Sequence[Event],
    *,
    max_events: int = MAX_EVENTS_PER_PUT,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[list[Event]]:
    """Cut events (in order) into PUT batches under the server's count and size limits."""
    envelope = len(put_body([], "2000-01-01T00:00:00.000Z"))
    batches: list[list[Event]] = []
    current: list[Event] = []
    size = envelope
    for event in events:
        event_size = len(dump_events([event]).encode()) - 1  # minus one bracket, plus a comma
        if current and (len(current) >= max_events or size + event_size > max_bytes):
            batches.append(current)
            current, size = [], envelope
        current.append(event)
        size += event_size
    if current:
        batches.append(current)
    return batches


def _retry_after_ms(response: HttpResponse, now_ms: int | None) -> int | None:
    value = response.header("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value) * 1000
    if now_ms is None:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int(when.timestamp() * 1000) - now_ms)


def error_for_response(response: HttpResponse, now_ms: int | None = None) -> ApiError:
    """The error an unsuccessful answer means (by status; the envelope gives code and message)."""
    code, message = "http_error", f"HTTP {response.status}"
    try:
        envelope = ErrorEnvelope.model_validate_json(response.body)
        code, message = envelope.error.code, envelope.error.message
    except ValidationError:
        pass
    status = response.status
    if status == 401:
        return SessionExpiredError(code, message)
    retryable = status in (408, 429) or status >= 500 or status < 400
    return ApiError(
        status,
        code,
        message,
        retryable=retryable,
        retry_after_ms=_retry_after_ms(response, now_ms) if retryable else None,
    )


class ApiClient:
    """Typed calls to the progress API through a :class:`Transport`.

    ``base_url`` is the API root, e.g. ``/api/v1`` in the page or
    ``http://127.0.0.1:8000/api/v1`` from CPython.
    """

    def __init__(
        self, transport: Transport, base_url: str = "/api/v1", clock: Clock | None = None
    ) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.clock = clock  # only to read a Retry-After given as an HTTP date

    @property
    def progress_url(self) -> str:
        return f"{self.base_url}/learning/progress"

    async def _call(
        self,
        method: str,
        url: str,
        token: str | None,
        body: bytes | None = None,
    ) -> HttpResponse:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.transport.request(method, url, headers, body)
        if not 200 <= response.status < 300:
            raise error_for_response(response, self.clock.now_ms() if self.clock else None)
        return response

    async def get_progress(
        self, token: str, since: str | None = None, limit: int | None = None
    ) -> GetProgressData:
        """One page of ``GET /progress``."""
        query = []
        if since is not None:
            query.append(f"since={quote(since, safe='')}")
        if limit is not None:
            query.append(f"limit={limit}")
        url = self.progress_url + (f"?{'&'.join(query)}" if query else "")
        response = await self._call("GET", url, token)
        try:
            with gc_paused():
                return GetProgressResponse.model_validate_json(response.body).data
        except ValidationError as exc:
            raise ApiError(
                response.status, "invalid_response", f"GET /progress: {exc}", retryable=True
            ) from None

    async def pull(
        self, token: str, since: str | None = None, limit: int | None = None
    ) -> PullResult:
        """Every event after ``since`` (all of them without it), following ``hasMore``."""
        events: list[Event] = []
        while True:
            page = await self.get_progress(token, since, limit)
            events.extend(page.events)
            since = page.cursor
            if not page.has_more:
                return PullResult(events, page.cursor, page.snapshot.model_dump_json(by_alias=True))

    async def put_progress(
        self, token: str, events: Sequence[Event], client_updated_at: str
    ) -> None:
        """One ``PUT /progress`` (the caller batches: see :func:`batch_events`)."""
        await self._call("PUT", self.progress_url, token, put_body(events, client_updated_at))

    async def login(self, email: str, password: str) -> Session:
        """``POST /auth/login``: a session for these credentials (401 if they are wrong)."""
        body = json.dumps({"email": email, "password": password}).encode()
        response = await self._call("POST", f"{self.base_url}/auth/login", None, body)
        try:
            data = _LoginResponse.model_validate_json(response.body).data
        except ValidationError as exc:
            raise ApiError(
                response.status, "invalid_response", f"POST /auth/login: {exc}", retryable=True
            ) from None
        return Session(user_id=data.user_id, token=data.token, expires_at=data.expires_at)
