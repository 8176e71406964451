"""The learning page signed in (spec §8.3), all through the page's controls: the auth sync
flow, offline progress, a second browser, logout and sign-in again, a second tab, a server
restart, a permanent 4xx, session expiry and a full localStorage.

A real `python -m pyserver serve --web dist/web --demo` process serves the page and the API;
what the server holds is read back through its API with a token of its own. Tests other than
the demo one sign in as a fresh user each, so that they never see each other's events.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from e2e.browsing import (
    FILL_STORAGE,
    FREE_STORAGE,
    PageLog,
    new_page,
    provoked_only,
    save_screenshot,
    wait_ready,
)
from e2e.course import (
    LESSON,
    PATH_A,
    PATH_B,
    QUIZ,
    complete_lesson,
    link_status,
    onboard,
    sign_in_ui,
    snapshot,
    sync_state,
    tid,
    wait_sync_state,
    wait_synced,
)
from e2e.server_api import DEMO, PUT, progressed, server_state
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser


@pytest.fixture
def user(learning_server: LearningServer) -> tuple[str, str]:
    email = f"learner-{uuid.uuid4().hex[:10]}@example.com"
    learning_server.add_user(email, "learner-password")
    return email, "learner-password"


def test_auth_sync_flow(learning_server: LearningServer, context: Any, page_log: PageLog) -> None:
    url = learning_server.url
    page = new_page(context, url, page_log)
    onboard(page, PATH_A)
    complete_lesson(page, PATH_A, *LESSON)
    assert sync_state(page) == "local"
    guest_snapshot = snapshot(page)

    # the demo credentials are prefilled and shown
    page.click(tid("sign-in-open"))
    assert page.input_value(tid("sign-in-email")) == DEMO[0]
    assert DEMO[1] in page.inner_text(tid("sign-in-dialog"))
    page.click(tid("sign-in-submit"))
    page.wait_for_selector(tid("sign-in-dialog"), state="hidden")
    # visible at once: the lesson is still completed, before any round trip is awaited here
    assert page.get_attribute(tid("item-view"), "data-status") == "completed"
    assert page.is_visible(tid("lesson-done"))
    assert DEMO[0] in page.inner_text(tid("account-label"))
    assert snapshot(page)["content"][LESSON[1]]["status"] == "completed"

    wait_synced(page)
    save_screenshot(page, "learning-signed-in-synced")
    events, server_snap = server_state(url, *DEMO)
    assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
    assert {"onboarding.completed", "activePath.set"} <= {e["type"] for e in events}
    assert server_snap["content"][LESSON[1]]["status"] == "completed"
    assert server_snap["onboarding"] == guest_snapshot["onboarding"]
    # the guest keys are cleared once their events are on the server
    assert page.evaluate("localStorage.getItem('learning_progress_events')") is None
    assert page.evaluate("localStorage.getItem('learning_progress_snapshot')") is None

    # a reload: still signed in, the cached paint is the user's, then the same progress
    page.reload()
    wait_ready(page)
    page.wait_for_selector(f"{tid('item-view')}[data-status='completed']")
    assert page.is_visible(tid("sign-out"))
    assert page_log.external_requests() == []
    assert page_log.errors() == []


def test_offline_progress_then_online_syncs(
    learning_server: LearningServer, context: Any, user: tuple[str, str]
) -> None:
    url = learning_server.url
    page = new_page(context, url)
    sign_in_ui(page, *user)
    onboard(page, PATH_A)
    wait_synced(page)

    context.set_offline(True)
    page.wait_for_selector(tid("offline-banner"), state="visible")
    wait_sync_state(page, "offline")
    complete_lesson(page, PATH_A, *LESSON)
    page.wait_for_timeout(1500)  # past the push debounce: still nothing can be sent
    st = page.evaluate("progressClient.status")
    assert st["state"] == "offline" and st["pending"] >= 2  # opened + completed, kept local
    assert page.get_attribute(tid("sync-status"), "data-pending") == str(st["pending"])
    assert str(st["pending"]) in page.inner_text(tid("sync-status"))
    assert page.get_attribute(tid("item-view"), "data-status") == "completed"
    events, _ = server_state(url, *user)
    assert progressed(events, LESSON[1]) == []
    save_screenshot(page, "learning-offline")

    context.set_offline(False)
    page.wait_for_selector(tid("offline-banner"), state="hidden")
    wait_synced(page)
    events, server_snap = server_state(url, *user)
    assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
    assert server_snap["content"][LESSON[1]]["status"] == "completed"


def test_second_browser_sees_progress_after_a_sync(
    learning_server: LearningServer, browser: Any, user: tuple[str, str]
) -> None:
    url = learning_server.url
    ctx_a, ctx_b = browser.new_context(), browser.new_context()
    try:
        a = new_page(ctx_a, url)
        sign_in_ui(a, *user)
        onboard(a, PATH_A)
        complete_lesson(a, PATH_A, *LESSON)
        wait_synced(a)

        b = new_page(ctx_b, url)
        sign_in_ui(b, *user)
        # b's home is a's path (onboarding and active path come along), with a's lesson done
        b.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_A}']")
        b.wait_for_function(
            f"() => document.querySelector(\"[data-testid='item-link-{LESSON[0]}-{LESSON[1]}']\")"
            ".dataset.status === 'completed'"
        )
        assert b.get_attribute(tid("module-progress-spotting-patterns"), "data-done") == "1"

        # and back: b answers a quiz; a sees it after its next sync
        b.click(tid(f"item-link-{QUIZ[0]}-{QUIZ[1]}"))
        b.check(tid("quiz-option-even"))
        b.click(tid("quiz-submit"))
        b.wait_for_selector(f"{tid('quiz-result')}[data-result='correct']")
        wait_synced(b)
        a.click(tid("back-to-path"))
        a.evaluate("progressClient.sync()")
        a.wait_for_selector(f"{tid(f'item-link-{QUIZ[0]}-{QUIZ[1]}')}[data-status='passed']")
        assert a.get_attribute(tid("module-progress-spotting-patterns"), "data-done") == "2"
    finally:
        ctx_a.close()
        ctx_b.close()


def test_logout_guest_onboarding_sign_in_again_merges(
    learning_server: LearningServer, context: Any, user: tuple[str, str]
) -> None:
    url = learning_server.url
    page = new_page(context, url)
    sign_in_ui(page, *user)
    onboard(page, PATH_A)
    complete_lesson(page, PATH_A, *LESSON)
    wait_synced(page)

    page.click(tid("sign-out"))
    page.wait_for_selector(f"{tid('sign-in-open')}:visible")
    page.goto(url + "#/")
    page.wait_for_selector(tid("onboarding"))  # a fresh guest: onboarding again
    assert snapshot(page)["content"] == {}
    onboard(page, PATH_B)
    complete_lesson(page, PATH_B, "probability-basics", "what-is-probability")

    sign_in_ui(page, *user)
    wait_synced(page)
    snap = snapshot(page)
    assert snap["content"][LESSON[1]]["status"] == "completed"
    assert snap["content"]["what-is-probability"]["status"] == "completed"
    assert snap["onboarding"]["pathId"] == PATH_B  # the latest onboarding wins
    assert snap["activePathId"] == PATH_B
    page.goto(url + "#/")
    page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_B}']")
    assert link_status(page, "probability-basics", "what-is-probability") == "completed"
    assert link_status(page, "putting-it-together", "correlation-vs-causation") == "not_started"
    _, server_snap = server_state(url, *user)
    assert server_snap["onboarding"]["pathId"] == PATH_B
    assert server_snap["content"][LESSON[1]]["status"] == "completed"
    assert page.evaluate("localStorage.getItem('learning_progress_events')") is None


def test_cross_tab_progress_without_reload(
    learning_server: LearningServer, context: Any, user: tuple[str, str]
) -> None:
    url = learning_server.url
    first = new_page(context, url)
    sign_in_ui(first, *user)
    onboard(first, PATH_A)
    second = new_page(context, url)  # same profile: signed in too
    second.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_A}']")
    assert second.is_visible(tid("sign-out"))

    complete_lesson(first, PATH_A, *LESSON)
    second.wait_for_selector(
        f"{tid(f'item-link-{LESSON[0]}-{LESSON[1]}')}[data-status='completed']", timeout=10_000
    )
    assert second.get_attribute(tid("module-progress-spotting-patterns"), "data-done") == "1"
    # and the other way round, onto the lesson page the first tab shows
    second.click(tid(f"item-link-{QUIZ[0]}-{QUIZ[1]}"))
    second.check(tid("quiz-option-even"))
    second.click(tid("quiz-submit"))
    first.click(tid("back-to-path"))
    first.wait_for_selector(
        f"{tid(f'item-link-{QUIZ[0]}-{QUIZ[1]}')}[data-status='passed']", timeout=10_000
    )
    wait_synced(first)
    wait_synced(second)
    events, _ = server_state(url, *user)
    assert progressed(events, QUIZ[1]).count("passed") == 1


def test_server_stopped_then_restarted_retries_and_loses_nothing(
    own_learning_server: LearningServer, context: Any
) -> None:
    url = own_learning_server.url
    creds = ("restart@example.com", "restart-password")
    own_learning_server.add_user(*creds)
    page = new_page(context, url)
    sign_in_ui(page, *creds)
    onboard(page, PATH_A)
    wait_synced(page)

    own_learning_server.stop()
    complete_lesson(page, PATH_A, *LESSON)
    page.click(tid("back-to-path"))
    page.click(tid(f"item-link-{QUIZ[0]}-{QUIZ[1]}"))
    page.check(tid("quiz-option-even"))
    page.click(tid("quiz-submit"))
    wait_sync_state(page, "error")  # the push failed; retries are scheduled
    assert page.is_visible(tid("sync-retry"))
    pending = int(page.get_attribute(tid("sync-status"), "data-pending") or 0)
    assert pending >= 4
    save_screenshot(page, "learning-server-down")

    own_learning_server.start()
    wait_synced(page, timeout_ms=45_000)  # a scheduled retry, no click
    events, server_snap = server_state(url, *creds)
    assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
    assert "passed" in progressed(events, QUIZ[1])
    assert server_snap["content"][QUIZ[1]]["status"] == "passed"
    assert server_snap["content"][LESSON[1]]["status"] == "completed"


def test_permanent_4xx_shows_the_error_and_a_manual_retry(
    learning_server: LearningServer, context: Any, user: tuple[str, str], page_log: PageLog
) -> None:
    url = learning_server.url
    page = new_page(context, url, page_log)
    sign_in_ui(page, *user)
    onboard(page, PATH_A)
    wait_synced(page)
    refused = [0]

    def reject(route: Any) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        refused[0] += 1
        body = {"ok": False, "error": {"code": "validation_error", "message": "provoked 422"}}
        route.fulfill(status=422, body=json.dumps(body), content_type="application/json")

    page.route(PUT, reject)
    complete_lesson(page, PATH_A, *LESSON)
    wait_sync_state(page, "error")
    waiting = page.get_attribute(tid("sync-status"), "data-pending")
    assert page.inner_text("#progress-state") == f"Sync failed · {waiting} waiting"
    assert "provoked 422" not in page.inner_text("body")  # the server's words go to the console
    assert page.is_visible(tid("sync-retry"))
    save_screenshot(page, "learning-sync-error")
    page.wait_for_timeout(2500)  # past the first automatic retry delay: none for a 4xx
    assert refused[0] == 1 and sync_state(page) == "error"
    assert page.get_attribute(tid("item-view"), "data-status") == "completed"  # still shown

    page.unroute(PUT)
    page.click(tid("sync-retry"))
    wait_synced(page)
    assert not page.is_visible(tid("sync-retry"))
    events, _ = server_state(url, *user)
    assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
    provoked_only(page_log, 422)


def test_session_expired_asks_to_sign_in_again(
    learning_server: LearningServer, context: Any, user: tuple[str, str], page_log: PageLog
) -> None:
    url = learning_server.url
    page = new_page(context, url, page_log)
    sign_in_ui(page, *user)
    onboard(page, PATH_A)
    wait_synced(page)
    body = json.dumps({"ok": False, "error": {"code": "unauthorized", "message": "expired"}})
    page.route(
        PUT,
        lambda route: (
            route.fulfill(status=401, body=body, content_type="application/json")
            if route.request.method == "PUT"
            else route.continue_()
        ),
    )
    complete_lesson(page, PATH_A, *LESSON)
    wait_sync_state(page, "session_expired")
    assert page.is_visible(tid("session-sign-in"))
    save_screenshot(page, "learning-session-expired")
    page.unroute(PUT)
    page.click(tid("session-sign-in"))
    page.fill(tid("sign-in-email"), user[0])
    page.fill(tid("sign-in-password"), user[1])
    page.click(tid("sign-in-submit"))
    page.wait_for_selector(tid("sign-in-dialog"), state="hidden")
    page.evaluate("progressClient.sync()")
    wait_synced(page)
    events, _ = server_state(url, *user)
    assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
    provoked_only(page_log, 401)


def test_storage_full_warns_keeps_working_and_loses_nothing(
    learning_server: LearningServer, context: Any, page_log: PageLog
) -> None:
    url = learning_server.url
    page = new_page(context, url, page_log)
    onboard(page, PATH_A)
    assert not page.is_visible(tid("storage-warning"))
    assert page.evaluate(FILL_STORAGE) > 0
    complete_lesson(page, PATH_A, *LESSON)  # the page keeps working
    page.wait_for_selector(tid("storage-warning"), state="visible")
    assert "full" in page.inner_text(tid("storage-warning")).lower()
    save_screenshot(page, "learning-storage-full")
    page.click(tid("back-to-path"))
    complete_lesson(page, PATH_A, "spotting-patterns", "clustering-illusion")
    assert page.is_visible(tid("storage-warning"))

    page.evaluate(FREE_STORAGE)
    page.click(tid("back-to-path"))
    complete_lesson(page, PATH_A, "spotting-patterns", "regression-to-the-mean")
    page.wait_for_selector(tid("storage-warning"), state="hidden")
    page.reload()
    wait_ready(page)
    snap = snapshot(page)
    for content_id in (LESSON[1], "clustering-illusion", "regression-to-the-mean"):
        assert snap["content"][content_id]["status"] == "completed"
    assert snap["onboarding"]["pathId"] == PATH_A
    assert page_log.errors() == []
