"""What a pyserver holds, read back through its REST API with a token of the test's own."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

DEMO = ("demo@example.com", "demo-password")
#: Playwright's pattern for the progress endpoint (GET pulls, PUT pushes).
PUT = "**/api/v1/learning/progress"


def api(url: str, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path.lstrip("/"), data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def login(url: str, email: str, password: str) -> tuple[str, str]:
    """(token, userId)"""
    data = api(url, "POST", "api/v1/auth/login", body={"email": email, "password": password})
    return data["data"]["token"], data["data"]["userId"]


def server_events(url: str, token: str) -> list[dict[str, Any]]:
    """Every event the server holds for the token's user (following hasMore)."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = "api/v1/learning/progress?limit=5000" + (f"&since={cursor}" if cursor else "")
        data = api(url, "GET", path, token)["data"]
        events += data["events"]
        cursor = data["cursor"]
        if not data["hasMore"]:
            return events


def server_snapshot(url: str, token: str) -> dict[str, Any]:
    return api(url, "GET", "api/v1/learning/progress?limit=1", token)["data"]["snapshot"]  # type: ignore[no-any-return]


def server_state(
    url: str, email: str, password: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(every event the server holds for the user, the server's snapshot)."""
    token, _ = login(url, email, password)
    events: list[dict[str, Any]] = []
    cursor = None
    snap: dict[str, Any] = {}
    while True:
        path = "api/v1/learning/progress?limit=5000" + (f"&since={cursor}" if cursor else "")
        data = api(url, "GET", path, token)["data"]
        events += data["events"]
        snap = snap or data["snapshot"]
        cursor = data["cursor"]
        if not data["hasMore"]:
            return events, snap


def progressed(events: list[dict[str, Any]], content_id: str) -> list[str]:
    """The statuses of the item's content.progressed events, in the server's order."""
    return [
        e["payload"]["status"]
        for e in events
        if e["type"] == "content.progressed" and e["payload"]["contentId"] == content_id
    ]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
