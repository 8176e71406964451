"""What operators watch: Prometheus metrics (prometheus-client), served at ``/metrics``, and an
optional JSON access log, both fed by one ASGI middleware (:class:`Instrumented`).

Metrics (each process has its own registry; scrape every process):

- ``pyserver_http_requests_total{route, method, status}`` and
  ``pyserver_http_request_duration_seconds{route, method}`` (a histogram): every answer,
  by route template (``/api/v1/learning/progress``; ``page`` for the built page's files) and
  method (``other`` for any but the usual seven), so that the label values stay few whatever
  paths and methods clients send;
- ``pyserver_events_stored_total`` (new events stored) and
  ``pyserver_event_copies_replaced_total`` (a differing copy that replaced a stored one);
- ``pyserver_login_failures_total`` (wrong email or password) and
  ``pyserver_throttled_total{limit}`` (``login``: a login made to wait; ``put``: a PUT over the
  rate; ``quota``: a PUT over the user's quota);
- ``pyserver_snapshot_fold_seconds{kind}``: time to bring a snapshot forward, ``incremental``
  (new events folded in) or ``full`` (the log reduced again).

The access log (``serve --json-access-log``) is one JSON object a line on the logger
``pyserver.access``: time, method, path (no query), status, duration in ms, client address.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Instrumented", "Metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_FOLD_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)
access_log = logging.getLogger("pyserver.access")
#: Method labels: these, and "other" for any token a client sends (label values stay few).
_METHODS = frozenset(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])


class Metrics:
    """One app's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pyserver_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "pyserver_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.events_stored = Counter(
            "pyserver_events_stored", "Events stored (new to their user's log)", registry=r
        )
        self.copies_replaced = Counter(
            "pyserver_event_copies_replaced",
            "Stored events replaced by a differing copy that every replica prefers",
            registry=r,
        )
        self.login_failures = Counter(
            "pyserver_login_failures", "Logins refused for a wrong email or password", registry=r
        )
        self.throttled = Counter(
            "pyserver_throttled",
            "Requests refused by a limit: login (backoff), put (rate), quota",
            ["limit"],
            registry=r,
        )
        self.snapshot_fold = Histogram(
            "pyserver_snapshot_fold_seconds",
            "Time to bring a user's snapshot forward: incremental or full",
            ["kind"],
            buckets=_FOLD_BUCKETS,
            registry=r,
        )

    def observe_fold(self, kind: str, seconds: float) -> None:
        self.snapshot_fold.labels(kind).observe(seconds)

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: the Prometheus text format."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class Instrumented:
    """ASGI middleware: counts and times every HTTP answer; writes the JSON access log."""

    def __init__(self, app: ASGIApp, metrics: Metrics, *, json_access_log: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.json_access_log = json_access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_label(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(elapsed)
            if self.json_access_log:
                _log_access(scope, status, elapsed)


def _route_label(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    if route is not None:
        return "page"  # the Mount of the built page at /
    return "unmatched"


def _log_access(scope: Scope, status: int, elapsed: float) -> None:
    client = scope.get("client")
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "durationMs": round(elapsed * 1000, 1),
        "client": client[0] if client else None,
    }
    access_log.info(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
