"""Test doubles for the sync engine's ports: a fake clock, a fake server as a plain handler.

No threads, sockets or event loop: coroutines are stepped by :func:`drive`, so the same tests
run in CPython and in Pyodide. The fake server follows DESIGN §4 closely enough for the
engine (idempotent PUT by eventId, an insertion-order cursor, ``hasMore``, limits).
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pyclient.ports import HttpResponse

Handler = Callable[[str, str, Mapping[str, str], bytes | None], HttpResponse]


class FakeClock:
    def __init__(self, now_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@types.coroutine
def _suspend() -> Generator[None]:
    yield


class FakeTransport:
    """Calls ``handler`` for every request (httpx MockTransport style).

    ``pause`` (a predicate on method and url) makes matching requests suspend once before
    the handler runs, to stop a sync in the middle (see :func:`start`).
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.pause: Callable[[str, str], bool] | None = None

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        if self.pause is not None and self.pause(method, url):
            await _suspend()
        return self.handler(method, url, headers, body)


def drive[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really waits (fakes only) to its end."""
    try:
        while True:
            coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def start(coro: Coroutine[Any, Any, Any]) -> bool:
    """Run a coroutine until it first suspends; True if it suspended (still running)."""
    try:
        coro.send(None)
    except StopIteration:
        return False
    return True


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode()
    )


def error_response(
    status: int, code: str, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return json_response(status, {"ok": False, "error": {"code": code, "message": code}}, headers)


EMPTY_SNAPSHOT = {
    "version": 1,
    "content": {},
    "onboarding": {"completed": False, "pathId": None, "completedAt": None},
    "activePathId": None,
    "streak": {"current": 0, "longest": 0, "lastActivityDate": None},
    "lastUpdated": None,
}


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeServer:
    """An in-memory progress API; ``fail`` may answer instead of it (return a response)."""

    tokens: dict[str, str] = field(default_factory=lambda: {"token-u1": "u1", "token-u2": "u2"})
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    page_limit: int = 1000
    fail: Callable[[Request], HttpResponse | None] | None = None

    def puts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "PUT"]

    def gets(self) -> list[Request]:
        return [r for r in self.requests if r.method == "GET"]

    def ids(self, user: str = "u1") -> list[str]:
        return [e["eventId"] for e in self.events.get(user, [])]

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        request = Request(method, url, dict(headers), json.loads(body) if body else None)
        self.requests.append(request)
        if self.fail is not None:
            answer = self.fail(request)
            if answer is not None:
                return answer
        auth = headers.get("Authorization", "")
        user = self.tokens.get(auth.removeprefix("Bearer "))
        if user is None:
            return error_response(401, "unauthorized", {"WWW-Authenticate": "Bearer"})
        log = self.events.setdefault(user, [])
        if method == "PUT":
            known = {e["eventId"] for e in log}
            for event in request.body["events"]:
                if event["eventId"] not in known:
                    log.append(event)
                    known.add(event["eventId"])
            return json_response(200, {"ok": True})
        query = parse_qs(urlsplit(url).query)
        since = int(query["since"][0]) if "since" in query else 0
        if since > len(log):
            return error_response(400, "invalid_cursor")
        page = log[since : since + self.page_limit]
        cursor = since + len(page)
        data = {
            "snapshot": EMPTY_SNAPSHOT,
            "events": page,
            "cursor": str(cursor),
            "hasMore": cursor < len(log),
        }
        return json_response(200, {"ok": True, "data": data})
