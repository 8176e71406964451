"""Actions taken before the progress client is ready (DESIGN §5, §8): the page stores each one
in the early-action queue at once, shows it as saving, and the engine takes it in when it starts.

The Pyodide runtime is held back at the network (Playwright routes) so that the client cannot be
ready while a test clicks; a real `python -m pyserver serve --demo` process serves the page and
the API.
"""

from __future__ import annotations

import uuid
from typing import Any

from e2e.browsing import PageLog, wait_ready
from e2e.client_api import stored_events
from e2e.course import PATH_A, item_hash, sign_in_ui, snapshot, tid, wait_synced
from e2e.server_api import login, server_events
from e2e.servers import PyServer

RUNTIME = "**/pyodide.asm.wasm"
LESSON_1 = ("spotting-patterns", "patterns-everywhere")
LESSON_2 = ("spotting-patterns", "clustering-illusion")
QUEUED = """() => Object.keys(localStorage)
  .filter((k) => k.startsWith('learning_progress_queue:') && !k.includes(':corrupt:'))
  .map((k) => [k, JSON.parse(localStorage.getItem(k))])"""


def _hold_runtime(target: Any) -> list[Any]:
    """Hold every request for the Pyodide runtime of `target` (a page or a context)."""
    held: list[Any] = []
    target.route(RUNTIME, lambda route: held.append(route))
    return held


def _click_mark_complete_before_ready(page: Any, url: str, lesson: tuple[str, str]) -> str:
    """Open the lesson with the client held back, complete it, and return the queued eventId."""
    page.goto(url + item_hash(PATH_A, *lesson))
    page.wait_for_selector(f"{tid('item-view')}[data-content-id='{lesson[1]}']")
    button = page.locator(tid("mark-complete"))
    assert button.is_enabled(), "Mark complete must take a click before the client is ready"
    assert page.evaluate("document.documentElement.dataset.progressReady") is None
    button.click()
    page.wait_for_selector(tid("lesson-done"))
    assert "Completed" in page.inner_text(tid("item-status"))
    assert page.is_visible(tid("item-pending")), "a queued action shows as saving"
    queued = [
        entry
        for key, entry in page.evaluate(QUEUED)
        if entry["event"]["payload"].get("contentId") == lesson[1]
        and entry["event"]["payload"]["status"] == "completed"
    ]
    assert len(queued) == 1, queued
    event = queued[0]["event"]
    assert queued[0]["v"] == 1 and queued[0]["userId"] is None
    assert event["type"] == "content.progressed" and event["clientId"]
    return str(event["eventId"])


def _new_account(server: PyServer) -> tuple[str, str]:
    email, password = f"early-{uuid.uuid4().hex[:10]}@example.com", "early-actions-password"
    server.add_user(email, password)
    return email, password


def test_a_click_before_the_client_is_ready_survives_closing_the_tab_and_reaches_the_server(
    demo_server: PyServer, context: Any, page_log: PageLog
) -> None:
    page = context.new_page()
    page_log.attach(page)
    held = _hold_runtime(page)
    event_id = _click_mark_complete_before_ready(page, demo_server.url, LESSON_1)
    assert held, "the runtime was not requested"
    bar = page.locator(tid("boot-progress"))
    assert bar.is_visible()
    assert 0 < int(bar.get_attribute("aria-valuenow") or "0") < 100
    page.close()  # at once: Python never ran in this tab

    again = context.new_page()
    page_log.attach(again)
    again.goto(demo_server.url + item_hash(PATH_A, *LESSON_1))
    wait_ready(again)
    assert snapshot(again)["content"][LESSON_1[1]]["status"] == "completed"
    assert event_id in {e.event_id for e in stored_events(again)}
    assert again.evaluate(QUEUED) == [], "the engine removes what it took in"
    assert not again.is_visible(tid("item-pending"))
    assert again.get_attribute(tid("boot-progress"), "aria-valuenow") == "100"

    email, password = _new_account(demo_server)
    sign_in_ui(again, email, password)
    wait_synced(again)
    token, _ = login(demo_server.url, email, password)
    on_server = [e for e in server_events(demo_server.url, token) if e["eventId"] == event_id]
    assert len(on_server) == 1, on_server
    assert on_server[0]["payload"]["status"] == "completed"
    assert page_log.errors() == []


def test_two_tabs_booting_at_once_take_in_each_queued_click_exactly_once(
    demo_server: PyServer, context: Any, page_log: PageLog
) -> None:
    held = _hold_runtime(context)
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        page_log.attach(tab)
    ids = [
        _click_mark_complete_before_ready(tabs[0], demo_server.url, LESSON_1),
        _click_mark_complete_before_ready(tabs[1], demo_server.url, LESSON_2),
    ]
    for route in list(held):
        route.continue_()
    context.unroute(RUNTIME)
    for tab in tabs:
        wait_ready(tab)
    for tab in tabs:
        tab.wait_for_function(
            "(ids) => ids.every((id) => progressClient.snapshot.content[id]?.status"
            " === 'completed')",
            arg=[LESSON_1[1], LESSON_2[1]],
        )
        stored = [e.event_id for e in stored_events(tab)]
        assert sorted(i for i in stored if i in ids) == sorted(ids), "each event stored once"
        assert len(stored) == len(set(stored))
        assert tab.evaluate(QUEUED) == []

    email, password = _new_account(demo_server)
    sign_in_ui(tabs[0], email, password)
    wait_synced(tabs[0])
    token, _ = login(demo_server.url, email, password)
    on_server = [e["eventId"] for e in server_events(demo_server.url, token)]
    assert sorted(i for i in on_server if i in ids) == sorted(ids)
    assert len(on_server) == len(set(on_server))
    assert page_log.errors() == []
