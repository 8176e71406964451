"""The progress client's JS API in one browser profile, as a guest: events that validate with
a monotonic occurredAt, a corrupt stored log kept aside, two tabs seeing each other's records,
and a full localStorage that warns, keeps working and loses nothing.
"""

from __future__ import annotations

import json

import pytest

from e2e.browsing import FILL_STORAGE, PageLog, wait_ready
from e2e.client_api import record, status, stored_events

pytestmark = pytest.mark.browser


def test_occurred_at_is_monotonic_and_events_validate(server, page) -> None:
    page.goto(server.url)
    wait_ready(page)
    ids = page.evaluate(
        """() => {
          const c = window.progressClient
          const ids = []
          for (let i = 0; i < 5; i++) ids.push(c.setActivePath('path-' + i))
          ids.push(c.completeOnboarding('basics'), c.resetOnboarding(), c.resetProgress())
          return ids
        }"""
    )
    stamp = {e.event_id: e.occurred_at for e in stored_events(page)}
    stamps = [stamp[i] for i in ids]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    err = page.evaluate(
        "() => { try { window.progressClient.recordProgress({contentId: '', status: 'done'});"
        " return null } catch (e) { return e.message } }"
    )
    assert err and "invalid content.progressed event" in err
    assert page.evaluate("window.progressClient.snapshot.activePathId") is None  # after reset


# A corrupt stored log, as JS: short; long (the client reads it as UTF-8 bytes), with characters
# beyond ASCII; long with a lone surrogate (no UTF-8 of it: read as the string it is).
CORRUPT_LOGS = {
    "short": "'{not json'",
    "long": "'{not json ' + '\\u00e9\\u2713\\ud83d\\ude00'.repeat(700)",
    "lone surrogate": "'{not json \\ud800 ' + 'x'.repeat(3000)",
}


@pytest.mark.parametrize("value", CORRUPT_LOGS.values(), ids=CORRUPT_LOGS.keys())
def test_corrupt_stored_log_is_kept_aside_not_fatal(
    server, context, page, page_log, value: str
) -> None:
    context.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        f" localStorage.setItem('learning_progress_events', {value});"
        " sessionStorage.setItem('seeded', '1') }"
    )
    page.goto(server.url)
    wait_ready(page)
    keys = page.evaluate("Object.keys(localStorage)")
    aside = [k for k in keys if k.startswith("learning_progress_events:corrupt:")]
    assert len(aside) == 1
    # kept as it was, to the UTF-16 code unit (compared in the page)
    assert page.evaluate(f"localStorage.getItem({json.dumps(aside[0])}) === ({value})")
    page.evaluate("window.progressClient.recordProgress({contentId: 'x', status: 'in_progress'})")
    assert page.evaluate("window.progressClient.snapshot.content.x.status") == "in_progress"
    assert any(aside[0] in t for kind, t in page_log.console if kind == "warning")


def test_a_second_tab_sees_events_recorded_in_the_first(server, context) -> None:
    first, second = context.new_page(), context.new_page()
    for pg in (first, second):
        pg.goto(server.url)
        wait_ready(pg)
    a = first.evaluate("progressClient.recordProgress({contentId: 'tab-a', status: 'completed'})")
    second.wait_for_selector("li[data-content-id='tab-a'][data-status='completed']")
    b = second.evaluate(
        "progressClient.recordProgress({contentId: 'tab-b', status: 'in_progress'})"
    )
    first.wait_for_selector("li[data-content-id='tab-b']")
    assert {e.event_id for e in stored_events(first)} == {a, b}


def test_storage_full_warns_keeps_working_and_loses_nothing(
    demo_server, page, page_log: PageLog
) -> None:
    page.goto(demo_server.url)
    wait_ready(page)
    before = record(page, "before-full", "completed")
    assert page.evaluate(FILL_STORAGE) > 0
    full = [record(page, f"full-{i}", "in_progress") for i in range(3)]
    st = status(page)
    assert st["storageWarning"] and "full" in st["storageWarning"].lower()
    snap = page.evaluate("progressClient.snapshot")
    assert {"before-full", "full-0", "full-1", "full-2"} <= set(snap["content"])
    page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('e2e-filler-'))"
        ".forEach((k) => localStorage.removeItem(k))"
    )
    after = record(page, "after-free", "completed")  # the next write persists everything
    assert status(page)["storageWarning"] is None
    stored = {e.event_id for e in stored_events(page)}
    assert stored == {before, *full, after}
    page.reload()
    wait_ready(page)
    assert {"before-full", "full-2", "after-free"} <= set(
        page.evaluate("Object.keys(progressClient.snapshot.content)")
    )
    assert page_log.errors() == []
