"""The sync engine in Chromium through the page's JS API, against a real pyserver (issue 5, 3).

Every test runs `python -m pyserver serve --web dist/web --demo` (one process for the module)
and signs in through `client.signIn`, as the demo user or as a user of its own (so that tests
do not see each other's events). What the server holds is read back through its API.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest

from e2e.conftest import PageLog, PyServer, save_screenshot, wait_ready

pytestmark = pytest.mark.browser

DEMO = ("demo@example.com", "demo-password")
PUT = "**/api/v1/learning/progress"


# --------------------------------------------------------------------------- helpers


def api(srv: PyServer, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(srv.url + path.lstrip("/"), data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def login(srv: PyServer, email: str, password: str) -> tuple[str, str]:
    data = api(srv, "POST", "api/v1/auth/login", body={"email": email, "password": password})
    return data["data"]["token"], data["data"]["userId"]


def server_events(srv: PyServer, token: str) -> list[dict[str, Any]]:
    """Every event the server holds for the token's user (following hasMore)."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = "api/v1/learning/progress?limit=5000" + (f"&since={cursor}" if cursor else "")
        data = api(srv, "GET", path, token)["data"]
        events += data["events"]
        cursor = data["cursor"]
        if not data["hasMore"]:
            return events


def server_snapshot(srv: PyServer, token: str) -> dict[str, Any]:
    return api(srv, "GET", "api/v1/learning/progress?limit=1", token)["data"]["snapshot"]


@pytest.fixture
def user(demo_server: PyServer) -> tuple[str, str]:
    """A fresh user of the demo server: (email, password)."""
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    demo_server.add_user(email, "e2e-password")
    return email, "e2e-password"


def open_page(context: Any, url: str, log: PageLog | None = None) -> Any:
    page = context.new_page()
    if log is not None:
        page.on("request", lambda r: log.requests.append(r.url))
        page.on("console", lambda m: log.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.goto(url)
    wait_ready(page)
    return page


def sign_in(page: Any, email: str, password: str) -> dict[str, Any]:
    status: dict[str, Any] = page.evaluate(
        "([email, password]) => progressClient.signIn({email, password})", [email, password]
    )
    return status


def status(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("progressClient.status")
    return result


def wait_state(page: Any, state: str, timeout_ms: int = 20_000) -> dict[str, Any]:
    page.wait_for_function(
        "(s) => progressClient.status.state === s", arg=state, timeout=timeout_ms
    )
    return status(page)


def record(page: Any, content_id: str, st: str = "completed", **extra: Any) -> str:
    event_id: str = page.evaluate(
        "(args) => progressClient.recordProgress(args)",
        {"contentId": content_id, "status": st, **extra},
    )
    return event_id


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def no_external(log: PageLog) -> None:
    assert log.external_requests() == []


# --------------------------------------------------------------------------- tests


def test_sign_in_as_demo_record_and_sync(demo_server, page, page_log: PageLog) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    guest_event = record(page, "guest-before-sign-in", "in_progress")
    st = sign_in(page, *DEMO)
    assert st["userId"] and st["state"] in {"synced", "local", "syncing"}
    user_id = st["userId"]
    event_id = record(page, "demo-lesson", "passed", score=95, contentVersion="v2")
    assert page.evaluate("progressClient.snapshot.content['demo-lesson'].status") == "passed"
    page.evaluate("progressClient.sync()")
    st = wait_state(page, "synced")
    assert st["pending"] == 0 and st["lastSuccessfulSyncAt"]
    token, server_user = login(demo_server, *DEMO)
    assert server_user == user_id
    ids = [e["eventId"] for e in server_events(demo_server, token)]
    assert ids.count(event_id) == 1 and ids.count(guest_event) == 1
    # the guest keys are cleared once the guest event reached the server
    assert page.evaluate("localStorage.getItem('learning_progress_events')") is None
    # the same snapshot on both sides (one reducer)
    snap = page.evaluate("progressClient.snapshot")
    assert canonical(snap) == canonical(server_snapshot(demo_server, token))

    # a reload stays signed in, as the same user, with the same snapshot
    page.reload()
    wait_ready(page)
    assert status(page)["userId"] == user_id
    assert canonical(page.evaluate("progressClient.snapshot")) == canonical(snap)
    session = json.loads(page.evaluate("localStorage.getItem('learning_progress_session')"))
    assert session["v"] == 1 and session["userId"] == user_id
    wait_state(page, "synced")

    page.evaluate("progressClient.signOut()")
    assert status(page)["userId"] is None
    assert page.evaluate("localStorage.getItem('learning_progress_session')") is None
    assert page.evaluate("Object.keys(progressClient.snapshot.content).length") == 0
    save_screenshot(page, "sync-signed-out")
    no_external(page_log)
    assert page_log.errors() == []


def test_wrong_password_is_refused(demo_server, page, page_log: PageLog) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    message = page.evaluate(
        "progressClient.signIn({email: 'demo@example.com', password: 'nope'})"
        ".then(() => null, (e) => e.message)"
    )
    assert message and "401" in message
    assert status(page)["userId"] is None
    assert page.evaluate("localStorage.getItem('learning_progress_session')") is None
    no_external(page_log)
    # the refused login is a 401 the browser logs as a failed resource load; nothing else
    assert all("401" in e for e in page_log.errors())
