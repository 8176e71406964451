"""Signing out never looks like losing progress: changes not yet synced are synced first (for a
few seconds at most); when some are left, the learner is told how many and chooses "Sign out
anyway" or "Stay signed in"; once signed out, the page says that the account keeps the
progress. What the dialog promises holds: changes left behind sync at the next sign-in here."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from e2e.course import LESSON, PATH_A, complete_lesson, onboard, tid, wait_synced
from e2e.learner import focused_testid, learner
from e2e.server_api import PUT, progressed, server_state
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "note": "You are signed out. Your progress is kept in your account",
        "pending": "{n} changes have not reached your account yet.",
    },
    "fr": {
        "note": "Vous êtes déconnecté. Votre progression est conservée dans votre compte",
        "pending": "{n} modifications n\u2019ont pas encore atteint votre compte.",
    },
}
CASES = [("en", 1280), ("fr", 360)]


@pytest.fixture
def user(learning_server: LearningServer) -> tuple[str, str]:
    email = f"leaver-{uuid.uuid4().hex[:10]}@example.com"
    learning_server.add_user(email, "leaver-password")
    return email, "leaver-password"


def sign_in(page: Any, user: tuple[str, str]) -> None:
    page.click(tid("sign-in-open"))
    page.fill(tid("sign-in-email"), user[0])
    page.fill(tid("sign-in-password"), user[1])
    page.click(tid("sign-in-submit"))
    page.wait_for_selector(f"{tid('sign-out')}:visible")


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_sign_out_syncs_pending_changes_first_then_says_the_account_keeps_them(
    learning_server: LearningServer, browser: Any, user: tuple[str, str], locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        sign_in(page, user)
        onboard(page, PATH_A)
        wait_synced(page)
        complete_lesson(page, PATH_A, *LESSON)
        assert int(page.get_attribute(tid("sync-status"), "data-pending") or 0) > 0
        page.click(tid("sign-out"))  # before the debounced push: sign-out pushes them
        page.wait_for_selector(f"{tid('sign-in-open')}:visible")
        assert not page.is_visible(tid("sign-out-dialog"))
        events, _ = server_state(learning_server.url, *user)
        assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
        # not a bare "Welcome!": the account keeps the progress
        note = page.inner_text(tid("signed-out-note"))
        assert note.startswith(WORDS[locale]["note"])
        page.click("h1 a")  # home: the guest's onboarding, under the same note
        page.wait_for_selector(tid("onboarding"))
        assert page.inner_text(tid("signed-out-note")).startswith(WORDS[locale]["note"])


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_unsynced_changes_ask_before_signing_out_and_sync_at_the_next_sign_in(
    learning_server: LearningServer, browser: Any, user: tuple[str, str], locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        sign_in(page, user)
        onboard(page, PATH_A)
        wait_synced(page)
        held: list[Any] = []
        mode = ["hold"]

        def push(route: Any) -> None:
            if route.request.method != "PUT":
                route.continue_()
            elif mode[0] == "hold":
                held.append(route)  # never answered: the server hangs
            else:
                route.abort("connectionrefused")

        page.route(PUT, push)
        complete_lesson(page, PATH_A, *LESSON)
        started = time.monotonic()
        page.click(tid("sign-out"))
        page.wait_for_selector(tid("sign-out-dialog"), state="visible", timeout=10_000)
        assert time.monotonic() - started < 8  # a bounded wait, not the hanging request's
        n = int(page.get_attribute(tid("sign-out-dialog"), "data-pending") or 0)
        assert n >= 2  # opened and completed
        assert page.inner_text(tid("sign-out-text")).startswith(
            WORDS[locale]["pending"].format(n=n)
        )
        assert focused_testid(page) == "sign-out-stay"

        # "Stay signed in": nothing changes, focus back on Sign out
        mode[0] = "refuse"
        for route in held:
            route.abort("connectionrefused")
        page.click(tid("sign-out-stay"))
        page.wait_for_function("() => document.activeElement?.dataset.testid === 'sign-out'")
        assert page.is_visible(tid("sign-out"))
        assert page.locator(tid("signed-out-note")).count() == 0

        # "Sign out anyway": signed out, told the account keeps the progress
        page.click(tid("sign-out"))
        page.wait_for_selector(tid("sign-out-dialog"), state="visible", timeout=10_000)
        page.click(tid("sign-out-anyway"))
        page.wait_for_selector(f"{tid('sign-in-open')}:visible")
        assert page.inner_text(tid("signed-out-note")).startswith(WORDS[locale]["note"])

        # what was left behind syncs at the next sign-in on this device
        page.unroute(PUT)
        sign_in(page, user)
        wait_synced(page)
        events, _ = server_state(learning_server.url, *user)
        assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
        assert page.locator(tid("signed-out-note")).count() == 0
