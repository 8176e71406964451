"""The sync engine in Chromium through the page's JS API, against a real pyserver: sign in and
sync, a refused password, two pages recording and syncing at once, a reload in the middle of a
sync, offline and back, a server error retried, a permanent 4xx, and an expired session.

Every test runs `python -m pyserver serve --web dist/web --demo` (one process for the session)
and signs in through `client.signIn`, as the demo user or as a user of its own (so that tests
do not see each other's events). What the server holds is read back through its API.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

import pytest

from e2e.browsing import PageLog, new_page, provoked_only, save_screenshot, wait_ready
from e2e.client_api import record, sign_in, status, wait_settled, wait_state
from e2e.server_api import DEMO, PUT, canonical, login, server_events, server_snapshot
from e2e.servers import PyServer

pytestmark = pytest.mark.browser


@pytest.fixture
def user(demo_server: PyServer) -> tuple[str, str]:
    """A fresh user of the demo server: (email, password)."""
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    demo_server.add_user(email, "e2e-password")
    return email, "e2e-password"


def no_external(log: PageLog) -> None:
    assert log.external_requests() == []


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
    token, server_user = login(demo_server.url, *DEMO)
    assert server_user == user_id
    ids = [e["eventId"] for e in server_events(demo_server.url, token)]
    assert ids.count(event_id) == 1 and ids.count(guest_event) == 1
    # the guest keys are cleared once the guest event reached the server
    assert page.evaluate("localStorage.getItem('learning_progress_events')") is None
    # the same snapshot on both sides (one reducer)
    snap = page.evaluate("progressClient.snapshot")
    assert canonical(snap) == canonical(server_snapshot(demo_server.url, token))

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


# Wraps fetch (before Pyodide captures it): every PUT to the progress API waits DELAY ms before
# it is sent, and its [start, end] wall-clock times are kept in window.__puts.
SLOW_PUTS = """(() => {
  const delay = %d
  window.__puts = []
  window.__inflight = 0
  const realFetch = window.fetch
  window.fetch = async function (input, init) {
    const method = (init && init.method) || (input && input.method) || 'GET'
    const url = typeof input === 'string' ? input : input.url
    if (method === 'PUT' && url.includes('/learning/progress')) {
      const start = Date.now()
      window.__inflight++
      await new Promise((resolve) => setTimeout(resolve, delay))
      try {
        return await realFetch.call(this, input, init)
      } finally {
        window.__inflight--
        window.__puts.push([start, Date.now()])
      }
    }
    return realFetch.call(this, input, init)
  }
})()"""


RECORD_MANY = """async ([prefix, n]) => {
  const ids = []
  for (let i = 0; i < n; i++) {
    const args = {contentId: prefix + '-' + (i %% 7), status: 'in_progress', score: i}
    ids.push(progressClient.recordProgress(args))
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return ids
}""".replace("%%", "%")


def test_two_pages_recording_at_once_lose_nothing_and_sync_one_at_a_time(
    demo_server, context, user
) -> None:
    context.add_init_script(SLOW_PUTS % 300)
    logs = [PageLog(), PageLog()]
    first, second = (new_page(context, demo_server.url, log) for log in logs)
    user_id = sign_in(first, *user)["userId"]
    # the other page follows the stored session
    second.wait_for_function("(u) => progressClient.status.userId === u", arg=user_id)

    for pg, prefix in ((first, "a"), (second, "b")):
        # not awaited here: both pages record at the same time
        pg.evaluate(f"() => {{ window.__ids = ({RECORD_MANY})(['{prefix}', 40]) }}")
    ids_a = first.evaluate("window.__ids")
    ids_b = second.evaluate("window.__ids")
    assert len(set(ids_a) | set(ids_b)) == 80
    wait_settled(first, second)

    token, _ = login(demo_server.url, *user)
    on_server = [e["eventId"] for e in server_events(demo_server.url, token)]
    assert sorted(on_server) == sorted(ids_a + ids_b)  # every event, each exactly once
    # (the page that syncs first pushes what the other stored too: one log per user)
    snapshots = [canonical(pg.evaluate("progressClient.snapshot")) for pg in (first, second)]
    assert snapshots[0] == snapshots[1] == canonical(server_snapshot(demo_server.url, token))

    # Only one page syncs at a time: both sync at once while every PUT is held 300 ms; one
    # holds the Web Lock, the other waits for it.
    for pg, prefix in ((first, "c"), (second, "d")):
        record(pg, f"{prefix}-last", "completed")
    for pg in (first, second):
        pg.evaluate("() => { window.__syncing = progressClient.sync() }")
    deadline = time.monotonic() + 20
    while not any(pg.evaluate("window.__inflight") for pg in (first, second)):
        assert time.monotonic() < deadline, "no PUT was sent"
        first.wait_for_timeout(20)
    # while that PUT is held, the other page's sync asks for the lock (each page's call is
    # its own task: the other one may come a moment after this PUT went out)
    seen = []
    while any(pg.evaluate("window.__inflight") for pg in (first, second)):
        locks = first.evaluate("navigator.locks.query()")
        ours = [lk for lk in locks["held"] if lk["name"].startswith("learning_progress_sync:")]
        waiting = [
            lk for lk in locks["pending"] if lk["name"].startswith("learning_progress_sync:")
        ]
        seen.append((len(ours), len(waiting)))
        if seen[-1] == (1, 1):
            assert ours[0]["clientId"] != waiting[0]["clientId"], locks  # two pages
            break
        first.wait_for_timeout(10)
    assert seen and seen[-1] == (1, 1), seen  # one page holds the lock, the other waits
    wait_settled(first, second)
    # ... and no two PUTs of the two pages ever overlapped
    puts = [(s, e, "a") for s, e in first.evaluate("window.__puts")] + [
        (s, e, "b") for s, e in second.evaluate("window.__puts")
    ]
    assert puts, "nothing was pushed"
    puts.sort()
    for (_, end, who), (start, _, other) in itertools.pairwise(puts):
        assert start >= end, f"PUTs of {who} and {other} overlapped"
    for log in logs:
        no_external(log)
        assert log.errors() == []


def test_reload_in_the_middle_of_a_sync_loses_nothing(demo_server, page, user) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    sign_in(page, *user)
    held: list[Any] = []
    page.route(
        PUT,
        lambda route: held.append(route) if route.request.method == "PUT" else route.continue_(),
    )
    ids = [record(page, f"reload-{i}", "completed") for i in range(3)]
    page.evaluate("progressClient.sync()")  # do not wait: the PUT is held
    page.wait_for_function("() => progressClient.status.state === 'syncing'")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the PUT was not sent"
    # The server commits the PUT, but the page never sees the answer: it reloads first.
    response = held[0].fetch()
    assert response.status == 200
    page.unroute(PUT)
    page.reload()
    wait_ready(page)
    ids.append(record(page, "after-reload", "passed"))
    wait_settled(page)
    token, _ = login(demo_server.url, *user)
    on_server = [e["eventId"] for e in server_events(demo_server.url, token)]
    assert sorted(on_server) == sorted(ids)
    assert canonical(page.evaluate("progressClient.snapshot")) == canonical(
        server_snapshot(demo_server.url, token)
    )


def test_offline_keeps_events_local_and_online_syncs_them(
    demo_server, context, page, page_log: PageLog, user
) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    sign_in(page, *user)
    wait_settled(page)
    context.set_offline(True)
    wait_state(page, "offline")
    ids = [record(page, f"offline-{i}", "completed") for i in range(3)]
    page.wait_for_timeout(2500)  # past the debounce: still nothing sent
    st = status(page)
    assert st["state"] == "offline" and st["pending"] == 3
    context.set_offline(False)
    wait_state(page, "synced")
    token, _ = login(demo_server.url, *user)
    assert sorted(e["eventId"] for e in server_events(demo_server.url, token)) == sorted(ids)
    no_external(page_log)
    assert page_log.errors() == []


REGISTERED = "async () => !!(await navigator.serviceWorker.getRegistration())"


def test_the_offline_copy_waits_for_the_network_to_be_set_up(
    demo_server, context, page, page_log: PageLog
) -> None:
    """The page registers its service worker a moment after ready (3 s, then when idle, at most
    5 s more). Offline by then, it waits (sw.js could not be fetched: the browser would report
    an error on the page) and registers once the browser is back online."""
    page.goto(demo_server.url)
    wait_ready(page)
    context.set_offline(True)
    page.wait_for_timeout(8500)
    assert page.evaluate(REGISTERED) is False
    context.set_offline(False)
    page.wait_for_function(REGISTERED, timeout=20_000)
    assert page_log.errors() == []


def _fail_puts(page: Any, status_code: int, times: int | None, counter: list[int]) -> None:
    body = json.dumps(
        {"ok": False, "error": {"code": "test", "message": f"provoked {status_code}"}}
    )

    def handler(route: Any) -> None:
        if route.request.method != "PUT" or (times is not None and counter[0] >= times):
            route.continue_()
            return
        counter[0] += 1
        route.fulfill(status=status_code, body=body, content_type="application/json")

    page.route(PUT, handler)


def test_server_error_then_retry_then_synced(demo_server, page, page_log: PageLog, user) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    sign_in(page, *user)
    failures = [0]
    _fail_puts(page, 500, 1, failures)
    event_id = record(page, "flaky", "completed")
    st = wait_state(page, "error")
    assert "provoked 500" in st["errorMessage"] and st["pending"] == 1
    st = wait_state(page, "synced")  # the retry, 1 s later, without any call
    assert failures == [1] and st["pending"] == 0 and st["errorMessage"] is None
    token, _ = login(demo_server.url, *user)
    assert [e["eventId"] for e in server_events(demo_server.url, token)] == [event_id]
    provoked_only(page_log, 500)


def test_permanent_client_error_waits_for_a_manual_sync(
    demo_server, page, page_log: PageLog, user
) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    sign_in(page, *user)
    failures = [0]
    _fail_puts(page, 422, None, failures)
    event_id = record(page, "refused", "completed")
    st = wait_state(page, "error")
    assert "provoked 422" in st["errorMessage"]
    page.wait_for_timeout(7000)  # longer than the first two retry delays: no retry happens
    assert failures == [1] and status(page)["state"] == "error"
    record(page, "refused-too", "in_progress")  # a new update does not resend what is held
    page.wait_for_timeout(2500)
    assert status(page)["state"] == "error"
    page.unroute(PUT)
    page.evaluate("progressClient.sync()")
    st = wait_state(page, "synced")
    assert st["pending"] == 0
    token, _ = login(demo_server.url, *user)
    assert event_id in {e["eventId"] for e in server_events(demo_server.url, token)}
    provoked_only(page_log, 422)


def test_unauthorized_shows_session_expired_without_looping(
    demo_server, page, page_log: PageLog, user
) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    sign_in(page, *user)
    failures = [0]
    _fail_puts(page, 401, None, failures)
    record(page, "expired", "completed")
    st = wait_state(page, "session_expired")
    assert st["pending"] == 1
    page.wait_for_timeout(3000)
    assert failures == [1] and status(page)["state"] == "session_expired"
    assert page.evaluate("localStorage.getItem('learning_progress_session')") is None
    # signing in again sends what was kept
    page.unroute(PUT)
    sign_in(page, *user)
    wait_settled(page)
    provoked_only(page_log, 401)
