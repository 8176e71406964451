"""A learner with a long history (DESIGN §5): 50,000 events on the server, pulled at sign-in;
a reload is ready from the checkpoint, a record shows at once, and the whole history is read
and reduced again in the background without blocking the page (no long task)."""

from __future__ import annotations

import time
import urllib.error
import uuid
from typing import Any

from pyclient.core.timestamps import format_instant

from .browsing import wait_ready
from .client_api import record, sign_in, status
from .server_api import api, login, server_events
from .servers import PyServer

HISTORY = 50_000
#: The longest a task may block the page after ready (what the Long Tasks API reports: more).
LONG_TASK_MS = 50

OBSERVE = """(() => {
  window.__longTasks = []
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration])
  }).observe({ type: 'longtask', buffered: true })
})()"""

# From the moment the client is made (the stored log's head and checkpoint read: the
# 'log-reduced' mark) until the whole history is verified.
AFTER_READY = """async () => {
  const ready = performance.getEntriesByName('log-reduced')[0].startTime
  await progressClient.historyVerified()
  const verified = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 300))  // a long task is reported once over
  return {
    ready,
    verified,
    blocked: window.__longTasks
      .filter(([start, duration]) => start + duration > ready && start < verified)
      .map(([start, duration]) => Math.round(duration)),
  }
}"""


#: The row of an item in the progress panel.
ROW = '((id) => document.querySelector(`#progress-items li[data-content-id="${id}"]`))'


def history(count: int) -> list[dict[str, Any]]:
    """A learner's events from another device, a minute apart, ending an hour ago."""
    start_ms = 1_767_225_600_000 - count * 60_000  # ends 2026-01-01
    events = []
    for n in range(count):
        ms = start_ms + n * 60_000
        events.append(
            {
                "eventId": str(uuid.UUID(int=n + 1, version=4)),
                "occurredAt": format_instant(ms * 1000),
                "clientId": "other-device",
                "type": "content.progressed",
                "payload": {
                    "contentId": f"lesson-{n % 300}",
                    "status": ("in_progress", "completed", "passed")[n % 3],
                },
            }
        )
    return events


def put_all(url: str, token: str, events: list[dict[str, Any]]) -> None:
    """PUT the events in batches, waiting out the server's PUT rate limit as a client does."""
    for i in range(0, len(events), 500):
        body = {"clientUpdatedAt": "2026-01-01T00:00:00.000Z", "events": events[i : i + 500]}
        while True:
            try:
                api(url, "PUT", "api/v1/learning/progress", token, body)
                break
            except urllib.error.HTTPError as exc:
                if exc.code != 429:
                    raise
                time.sleep(int(exc.headers["Retry-After"]))


def test_a_reload_with_a_long_history_is_ready_at_once_and_never_blocks_the_page(
    demo_server: PyServer, context: Any
) -> None:
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    demo_server.add_user(email, "e2e-password")
    token, _ = login(demo_server.url, email, "e2e-password")
    put_all(demo_server.url, token, history(HISTORY))
    context.add_init_script(OBSERVE)
    page = context.new_page()
    page.goto(demo_server.url)
    wait_ready(page)
    sign_in(page, email, "e2e-password")
    page.wait_for_function(
        "() => progressClient.status.state === 'synced' && progressClient.status.pending === 0",
        timeout=120_000,
    )
    stored = page.evaluate(
        "Object.keys(localStorage).filter((k) => k.includes(':segment:')).length"
    )
    assert stored >= HISTORY // 2048  # sealed segments, not one value

    page.reload()
    wait_ready(page)
    page.evaluate(f"{ROW}('lesson-1').dataset.marked = 'yes'")
    event_id = record(page, "lesson-after-reload", "completed")
    assert page.evaluate("progressClient.snapshot.content['lesson-after-reload'].status") == (
        "completed"
    )
    # the new row is drawn, and the rows that did not change are not drawn again
    assert page.evaluate(f"{ROW}('lesson-after-reload').dataset.status") == "completed"
    assert page.evaluate(f"{ROW}('lesson-1').dataset.marked") == "yes"
    assert page.evaluate("document.querySelectorAll('#progress-items li').length") == 301
    after = page.evaluate(AFTER_READY)
    assert after["blocked"] == [], f"long tasks after ready: {after['blocked']} ms"
    snapshot = page.evaluate("progressClient.snapshot")
    assert len(snapshot["content"]) == 301  # every item of the history, and the new one
    assert snapshot["content"]["lesson-after-reload"]["status"] == "completed"
    page.wait_for_function(
        "() => progressClient.status.state === 'synced' && progressClient.status.pending === 0",
        timeout=60_000,
    )
    held = server_events(demo_server.url, token)
    assert len(held) == HISTORY + 1 and held[-1]["eventId"] == event_id  # sent once
    assert status(page)["storageWarning"] is None
