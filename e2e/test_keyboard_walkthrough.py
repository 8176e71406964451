"""A learner with a keyboard only: every flow (choose a path, open a lesson, mark it complete,
go on with Next, answer a quiz wrong then right, sign in, sign out) by Tab, Enter, Space and the
arrow keys; after each action focus is on the sensible next control, never lost to the page's
start, and the outcome is said in the polite live region. At 1280 px in English and 360 px in
French."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from e2e.course import PATH_A, tid, wait_synced
from e2e.learner import announced, focus_is_in_view, focused_testid, learner, tab_to
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

WORDS = {
    "en": {
        "lesson_done": "Lesson completed.",
        "not_passed": "Not passed yet. Best score: 0 / 10",
        "passed": "Correct! Quiz passed. Score: 10 / 10",
        "signed_in": "Signed in as {who}.",
        "signed_out": "Signed out. Your progress is kept in your account",
    },
    "fr": {
        "lesson_done": "Leçon terminée.",
        "not_passed": "Pas encore réussi. Meilleur score : 0 / 10",
        "passed": "Bonne réponse ! Quiz réussi. Score : 10 / 10",
        "signed_in": "Connecté : {who}.",
        "signed_out": "Déconnecté. Votre progression est conservée dans votre compte",
    },
}


def focused_heading(page: Any) -> str:
    """The text of the focused view heading (fails when focus is elsewhere)."""
    assert page.evaluate("document.activeElement.classList.contains('view-heading')"), (
        focused_testid(page)
    )
    return str(page.evaluate("document.activeElement.textContent"))


def wait_announced(page: Any, text: str) -> None:
    page.wait_for_function(
        "(text) => document.getElementById('announcer').textContent.includes(text)", arg=text
    )


def complete_by_keyboard(page: Any, words: dict[str, str]) -> None:
    tab_to(page, "mark-complete")
    page.keyboard.press("Enter")
    page.wait_for_selector(tid("lesson-done"))
    assert focused_testid(page) == "item-next"  # the next step, not the breadcrumb
    wait_announced(page, words["lesson_done"])
    # focus stays there while the page records and syncs
    page.wait_for_timeout(300)
    assert focused_testid(page) == "item-next"


# Every hashchange of the page held back by a second: the render of a route change comes well
# after whatever the action itself drew (on a busy machine it can come after the next look).
SLOW_HASHCHANGE = """() => {
  window.addEventListener('hashchange', (ev) => {
    if (ev.late) return
    ev.stopImmediatePropagation()
    setTimeout(() => {
      const late = new HashChangeEvent('hashchange', { oldURL: ev.oldURL, newURL: ev.newURL })
      late.late = true
      window.dispatchEvent(late)
    }, 1000)
  }, { capture: true })
}"""


def test_choosing_a_path_puts_focus_on_its_heading_from_the_first_render_that_draws_it(
    learning_server: LearningServer, browser: Any
) -> None:
    with learner(browser, learning_server.url) as page:
        page.evaluate(SLOW_HASHCHANGE)
        tab_to(page, f"choose-path-{PATH_A}")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_A}']")
        heading = page.inner_text(f"{tid('path-view')} h2")
        assert focused_heading(page) == heading
        page.wait_for_function("() => location.hash.includes('/path/')")
        page.wait_for_timeout(1200)  # the route change's own render: focus stays there
        assert focused_heading(page) == heading


@pytest.mark.parametrize(("locale", "width"), [("en", 1280), ("fr", 360)])
def test_every_flow_by_keyboard_keeps_focus_where_the_learner_is(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    words = WORDS[locale]
    email = f"keys-{uuid.uuid4().hex[:10]}@example.com"
    learning_server.add_user(email, "keys-password")
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        # choose a path: focus on its heading
        tab_to(page, f"choose-path-{PATH_A}")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_A}']")
        assert focused_heading(page) == page.inner_text(f"{tid('path-view')} h2")

        # open the first lesson: focus on its title, kept after it is recorded as opened
        tab_to(page, "item-link-spotting-patterns-patterns-everywhere")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('item-view')}[data-status='in_progress']")
        page.wait_for_timeout(300)
        assert focused_testid(page) == "item-title"

        # mark complete: on to Next, announced; Next opens the next lesson
        complete_by_keyboard(page, words)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('item-view')}[data-content-id='clustering-illusion']")
        assert focused_testid(page) == "item-title"
        complete_by_keyboard(page, words)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('item-view')}[data-content-id='quiz-coin-streak']")
        assert focused_testid(page) == "item-title"

        # a quiz, wrong then right: options by arrow keys, submit by Enter
        tab_to(page, "quiz-option-more-likely")
        page.keyboard.press("ArrowDown")  # checks "less likely"
        page.wait_for_selector(f"{tid('quiz-option-less-likely')}:checked")
        assert focused_testid(page) == "quiz-option-less-likely"
        tab_to(page, "quiz-submit")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('quiz-result')}[data-result='wrong']")
        assert focused_testid(page) == "quiz-retry"
        wait_announced(page, words["not_passed"])
        page.keyboard.press("Enter")  # try again: focus on the first option
        page.wait_for_selector(tid("quiz-submit"))
        assert focused_testid(page) == "quiz-option-more-likely"
        page.keyboard.press("ArrowDown")
        page.wait_for_selector(f"{tid('quiz-option-less-likely')}:checked")
        page.keyboard.press("ArrowDown")
        page.wait_for_selector(f"{tid('quiz-option-even')}:checked")
        tab_to(page, "quiz-submit")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('quiz-result')}[data-result='correct']")
        assert focused_testid(page) == "item-next"
        wait_announced(page, words["passed"])

        # sign in: the dialog by keyboard; then focus on the lesson area, announced
        tab_to(page, "sign-in-open")
        page.keyboard.press("Enter")
        page.wait_for_selector(tid("sign-in-dialog"), state="visible")
        assert focused_testid(page) == "sign-in-email"
        page.keyboard.press("Control+A")
        page.keyboard.type(email)
        page.keyboard.press("Tab")
        page.keyboard.press("Control+A")
        page.keyboard.type("keys-password")
        page.keyboard.press("Enter")
        page.wait_for_selector(tid("sign-in-dialog"), state="hidden")
        page.wait_for_selector(f"{tid('sign-out')}:visible")
        assert focused_testid(page) == "item-title"
        wait_announced(page, words["signed_in"].format(who=email))
        wait_synced(page)
        assert focus_is_in_view(page)

        # sign out: focus on "Sign in", and the learner is told the account keeps the progress
        tab_to(page, "sign-out")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"{tid('sign-in-open')}:visible")
        assert focused_testid(page) == "sign-in-open"
        wait_announced(page, words["signed_out"])
        assert words["signed_out"] in announced(page)
