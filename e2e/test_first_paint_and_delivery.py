"""How the page reaches the learner: its own code as one module, the cached snapshot painted
before Python starts, a clear error when the dist lacks a wheel or ships a wrong one, and a
recorded item found again after a reload with every request kept on the page's own origin
(static server and pyserver).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from static_server import StaticServer

from e2e.browsing import PageLog, save_screenshot, wait_ready
from e2e.client_api import stored_events

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


# The paths of the scripts the document itself loaded (Resource Timing: not its workers').
DOCUMENT_SCRIPTS = """() => performance.getEntriesByType('resource')
  .map((e) => new URL(e.name).pathname)
  .filter((p) => /\\.m?js$/.test(p))"""


def test_the_page_loads_its_own_code_as_one_module(server, page) -> None:
    page.goto(server.url)
    wait_ready(page)
    scripts = page.evaluate(DOCUMENT_SCRIPTS)
    own = [p for p in scripts if p.startswith("/app-")]
    # the page's modules in one, and the read worker's (it reads the memory snapshot) in one
    assert sorted(p.split("/", 2)[2] for p in own) == ["learning-page.js", "read-worker.js"], (
        scripts
    )
    # the runtime's modules come on their own, once the page is drawn
    assert {p.rsplit("/", 1)[1] for p in scripts if p.startswith("/pyodide-")} == {
        "pyodide.mjs",
        "pyodide.asm.mjs",
    }


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
    held: list = []
    released = []

    def hold(route) -> None:
        # (the page may ask for it again, from Pyodide itself once it has the memory snapshot)
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/pyodide.asm.wasm", hold)
    page.goto(server.url, wait_until="domcontentloaded")
    page.wait_for_selector("li[data-content-id='lesson-cached']", timeout=10_000)
    page.wait_for_timeout(300)
    assert held, "the Pyodide runtime was not requested"
    # The runtime is held back, so Python cannot be running: what shows is the cache.
    assert page.evaluate("document.documentElement.dataset.progressReady") is None
    assert page.evaluate("document.documentElement.dataset.progressCachedPaint") == "true"
    assert page.get_attribute("li[data-content-id='lesson-cached']", "data-status") == "in_progress"
    assert page.evaluate("document.getElementById('progress').classList.contains('loading')")
    released.append(True)
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
    wheels = dest / json.loads((dest / "build.json").read_text())["packages"]
    if how == "missing-wheel":
        victim = next(wheels.glob("*/pydantic-*.whl"))
        victim.unlink()
        for variant in victim.parent.glob(f"{victim.name}.*"):
            variant.unlink()  # .br, .gz: the server would send them for the missing file
    else:
        victim = next(wheels.glob("*/pyclient-*.whl"))
        for variant in victim.parent.glob(f"{victim.name}.*"):
            variant.unlink()  # the server must send the broken bytes, not a sound variant
        data = bytearray(victim.read_bytes())
        data[-30] ^= 0xFF  # same name and size, wrong sha256
        victim.write_bytes(bytes(data))
    return victim.name


@pytest.mark.parametrize("how", ["missing-wheel", "wrong-hash"])
def test_broken_dist_shows_a_clear_error(dist_web, tmp_path, page, page_log: PageLog, how) -> None:
    victim = _break_dist(dist_web, tmp_path / "web", how)
    with StaticServer(tmp_path / "web") as srv:
        page.goto(srv.url)
        page.wait_for_function(
            "() => !!document.documentElement.dataset.progressError", timeout=60_000
        )
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
