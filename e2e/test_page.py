"""The learning page in real Chromium, served from 127.0.0.1 (issue 3, acceptance 2-4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from static_server import StaticServer

from e2e.conftest import PageLog, save_screenshot, wait_ready
from pyclient.store.local_store import decode_log

STORED_LOG = "localStorage.getItem('learning_progress_events')"


def stored_events(page: object) -> list[object]:
    """The guest log as stored by the page (whatever its format version), in stored order."""
    events, problem = decode_log(page.evaluate(STORED_LOG))  # type: ignore[attr-defined]
    assert problem is None, problem
    return list(events.values())


pytestmark = pytest.mark.browser


def test_record_reload_and_find_it_again_all_local(any_server, page, page_log: PageLog) -> None:
    page.goto(any_server.url)
    wait_ready(page)
    assert page.evaluate("typeof window.progressClient.recordProgress") == "function"
    event_id = page.evaluate(
        "window.progressClient.recordProgress({contentId: 'lesson-e2e', status: 'completed',"
        " score: 90, contentVersion: 'v1'})"
    )
    assert len(event_id) == 36  # a UUID
    item = page.evaluate("window.progressClient.snapshot.content['lesson-e2e']")
    assert item["status"] == "completed" and item["score"] == 90
    page.wait_for_selector("li[data-content-id='lesson-e2e'][data-status='completed']")

    page.reload()
    wait_ready(page)
    snapshot = page.evaluate("window.progressClient.snapshot")
    assert snapshot["content"]["lesson-e2e"]["status"] == "completed"
    assert snapshot["content"]["lesson-e2e"]["contentVersion"] == "v1"
    stored = stored_events(page)
    assert [e.event_id for e in stored] == [event_id]
    assert stored[0].occurred_at.endswith("Z")
    assert page.is_visible("li[data-content-id='lesson-e2e']")
    assert not page.evaluate("document.getElementById('progress').classList.contains('loading')")
    save_screenshot(page, f"page-after-reload-{any_server.name}")

    assert page_log.requests, "no request was recorded"
    assert page_log.external_requests() == []
    assert page_log.errors() == []


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


def test_cached_snapshot_is_painted_before_pyodide_is_ready(server, context, page) -> None:
    cached = {
        "version": 1,
        "content": {
            "lesson-cached": {
                "status": "in_progress",
                "score": None,
                "contentVersion": None,
                "firstAttemptAt": "2025-12-22T20:36:50.595Z",
                "lastAttemptAt": "2025-12-22T20:36:50.595Z",
                "completedAt": None,
                "interactions": {},
            }
        },
        "onboarding": {"completed": False, "pathId": None, "completedAt": None},
        "activePathId": None,
        "streak": {"current": 0, "longest": 0, "lastActivityDate": None},
        "lastUpdated": "2025-12-22T20:36:50.595Z",
    }
    log = {
        "v": 1,
        "events": [
            {
                "eventId": "e2e-cached-1",
                "occurredAt": "2025-12-22T20:40:00.000Z",
                "clientId": "c-1",
                "type": "content.progressed",
                "payload": {"contentId": "lesson-cached", "status": "completed"},
            }
        ],
    }
    cache_js = json.dumps(json.dumps({"v": 1, "snapshot": cached}))
    log_js = json.dumps(json.dumps(log))
    context.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        f" localStorage.setItem('learning_progress_snapshot', {cache_js});"
        f" localStorage.setItem('learning_progress_events', {log_js});"
        " sessionStorage.setItem('seeded', '1') }"
    )
    held = []
    page.route("**/pyodide.asm.wasm", lambda route: held.append(route))
    page.goto(server.url, wait_until="domcontentloaded")
    page.wait_for_selector("li[data-content-id='lesson-cached']", timeout=10_000)
    page.wait_for_timeout(300)
    assert held, "the Pyodide runtime was not requested"
    # The runtime is held back, so Python cannot be running: what shows is the cache.
    assert page.evaluate("document.documentElement.dataset.progressReady") is None
    assert page.evaluate("document.documentElement.dataset.progressCachedPaint") == "true"
    assert page.get_attribute("li[data-content-id='lesson-cached']", "data-status") == "in_progress"
    assert page.evaluate("document.getElementById('progress').classList.contains('loading')")
    for route in held:
        route.continue_()
    wait_ready(page)
    # The recomputed snapshot (from the log: completed) replaces the cached one.
    page.wait_for_selector("li[data-content-id='lesson-cached'][data-status='completed']")
    assert not page.evaluate("document.getElementById('progress').classList.contains('loading')")
    stored = json.loads(page.evaluate("localStorage.getItem('learning_progress_snapshot')"))
    assert stored["snapshot"]["content"]["lesson-cached"]["status"] == "completed"


def _break_dist(src: Path, dest: Path, how: str) -> str:
    shutil.copytree(src, dest)
    wheels = dest / "pyodide"
    if how == "missing-wheel":
        victim = next(wheels.glob("pydantic-*.whl"))
        victim.unlink()
    else:
        victim = next(wheels.glob("pyclient-*.whl"))
        data = bytearray(victim.read_bytes())
        data[-30] ^= 0xFF  # same name and size, wrong sha256
        victim.write_bytes(bytes(data))
    return victim.name


@pytest.mark.parametrize("how", ["missing-wheel", "wrong-hash"])
def test_broken_dist_shows_a_clear_error(dist_web, tmp_path, page, page_log: PageLog, how) -> None:
    victim = _break_dist(dist_web, tmp_path / "web", how)
    with StaticServer(tmp_path / "web") as srv:
        page.goto(srv.url)
        page.wait_for_function("!!document.documentElement.dataset.progressError", timeout=60_000)
        message = page.evaluate("document.documentElement.dataset.progressError")
        assert "could not load the Python packages" in message
        box = page.locator("#progress-error")
        assert box.is_visible()
        assert "Learning progress could not start" in box.inner_text()
        assert page.evaluate("document.documentElement.dataset.progressReady") is None
        save_screenshot(page, f"broken-dist-{how}")
    logged = "\n".join(page_log.errors())
    assert "Learning progress could not start" in logged
    reason = "is missing from the dist" if how == "missing-wheel" else "does not match its sha256"
    assert f"{victim} {reason}" in message


def test_corrupt_stored_log_is_kept_aside_not_fatal(server, context, page, page_log) -> None:
    context.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        " localStorage.setItem('learning_progress_events', '{not json');"
        " sessionStorage.setItem('seeded', '1') }"
    )
    page.goto(server.url)
    wait_ready(page)
    keys = page.evaluate("Object.keys(localStorage)")
    aside = [k for k in keys if k.startswith("learning_progress_events:corrupt:")]
    assert len(aside) == 1
    assert page.evaluate(f"localStorage.getItem({json.dumps(aside[0])})") == "{not json"
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
