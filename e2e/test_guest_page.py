"""The learning page as a guest learner uses it: onboarding, lessons, quizzes, progress,
streak, active path, reset, locale, narrow screens, the keyboard and the offline banner.

Runs against a real `python -m pyserver serve --web dist/web --demo` process (one for the
module); every test has a fresh browser context, so a fresh guest. Screenshots of the main
states go to test-artifacts/.
"""

from __future__ import annotations

from typing import Any

import pytest

from e2e.browsing import PageLog, open_page, save_screenshot, wait_ready
from e2e.course import (
    LESSON,
    PATH_A,
    PATH_B,
    QUIZ,
    complete_lesson,
    counts,
    item_hash,
    no_horizontal_scroll,
    onboard,
    snapshot,
    tid,
)
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser


def test_onboarding_chooses_a_path_and_sets_it_active(
    learning_server: LearningServer, page: Any, page_log: PageLog
) -> None:
    open_page(page, learning_server.url)
    page.wait_for_selector(tid("onboarding"))
    assert page.is_enabled(tid(f"choose-path-{PATH_A}"))
    save_screenshot(page, "learning-onboarding")
    onboard(page, PATH_A)
    snap = snapshot(page)
    assert snap["onboarding"]["completed"] is True and snap["onboarding"]["pathId"] == PATH_A
    assert snap["activePathId"] == PATH_A
    assert page.is_visible(tid("active-badge"))
    # the path view: its modules, every item with a status, the progress of each module
    for module_id in ("spotting-patterns", "evaluating-claims", "arguing-well"):
        assert counts(page, f"module-progress-{module_id}") == (0, 5)
    assert counts(page, "path-progress") == (0, 15)
    save_screenshot(page, "learning-path-view")
    # after a reload the home page is the active path, not the onboarding
    page.reload()
    wait_ready(page)
    page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_A}']")
    assert page.locator(tid("onboarding")).count() == 0
    assert page_log.external_requests() == []
    assert page_log.errors() == []


def test_onboarding_by_keyboard_moves_focus_to_the_path(
    learning_server: LearningServer, page: Any
) -> None:
    open_page(page, learning_server.url)
    page.wait_for_selector(tid("onboarding"))
    target = f"choose-path-{PATH_B}"
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.dataset?.testid") == target:
            break
    else:
        pytest.fail("the path choice cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_B}']")
    assert page.evaluate("document.activeElement.classList.contains('view-heading')")
    # every form control on the page has an accessible name
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
            .filter((el) => !(el.labels?.length || el.getAttribute('aria-label')
                              || el.textContent.trim()))
            .map((el) => el.outerHTML)"""
    )
    assert unlabelled == []


def test_lesson_open_then_complete_updates_module_path_and_streak(
    learning_server: LearningServer, page: Any
) -> None:
    open_page(page, learning_server.url)
    onboard(page, PATH_A)
    module_id, content_id = LESSON
    page.click(tid(f"item-link-{module_id}-{content_id}"))
    # opening a lesson records in_progress
    page.wait_for_selector(
        f"{tid('item-view')}[data-content-id='{content_id}'][data-status='in_progress']"
    )
    assert snapshot(page)["content"][content_id]["status"] == "in_progress"
    page.click(tid("mark-complete"))
    page.wait_for_selector(tid("lesson-done"))
    item = snapshot(page)["content"][content_id]
    assert item["status"] == "completed" and item["contentVersion"] == "v1"
    assert page.get_attribute(tid("item-view"), "data-status") == "completed"
    save_screenshot(page, "learning-lesson-completed")
    # the progress panel and the streak
    assert (
        page.get_attribute(f"#progress-items li[data-content-id='{content_id}']", "data-status")
        == "completed"
    )
    streak = page.locator(tid("streak"))
    assert (streak.get_attribute("data-current"), streak.get_attribute("data-longest")) == (
        "1",
        "1",
    )
    assert snapshot(page)["streak"]["current"] == 1

    page.click(tid("back-to-path"))
    page.wait_for_selector(tid("path-view"))
    assert counts(page, "module-progress-spotting-patterns") == (1, 5)
    assert counts(page, "path-progress") == (1, 15)
    link = tid(f"item-link-{module_id}-{content_id}")
    assert page.get_attribute(link, "data-status") == "completed"

    # a reused item counts in every module (and path) it appears in
    complete_lesson(page, PATH_A, "spotting-patterns", "regression-to-the-mean")
    page.click(tid("back-to-path"))
    assert counts(page, "module-progress-spotting-patterns") == (2, 5)
    page.goto(learning_server.url + f"#/path/{PATH_B}")
    page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_B}']")
    assert counts(page, "module-progress-updating-beliefs") == (1, 4)
    assert counts(page, "path-progress") == (1, 15)


def test_quiz_choose_submit_score_and_retry(learning_server: LearningServer, page: Any) -> None:
    module_id, content_id = QUIZ
    open_page(page, learning_server.url)
    onboard(page, PATH_A)
    page.click(tid(f"item-link-{module_id}-{content_id}"))
    page.wait_for_selector(f"{tid('item-view')}[data-kind='quiz']")
    assert page.is_disabled(tid("quiz-submit"))

    # a wrong answer: recorded as completed with score 0, shown as not passed yet
    page.check(tid("quiz-option-less-likely"))
    page.wait_for_function(
        "() => progressClient.snapshot.content['quiz-coin-streak']"
        "?.interactions['coin-streak-answer']?.selectedOptionId === 'less-likely'"
    )
    assert snapshot(page)["content"][content_id]["status"] == "in_progress"
    page.click(tid("quiz-submit"))
    page.wait_for_selector(f"{tid('quiz-result')}[data-result='wrong']")
    item = snapshot(page)["content"][content_id]
    assert item["status"] == "completed" and item["score"] == 0
    assert page.is_visible(tid("quiz-retry"))
    assert page.is_disabled(tid("quiz-option-even"))
    assert page.inner_text(tid("item-status")) == "Not passed yet"
    assert page.inner_text(tid("quiz-best-score")) == "Best score: 0 / 10"

    # retry clears the answer (interaction state null): gone from the snapshot
    page.click(tid("quiz-retry"))
    page.wait_for_selector(tid("quiz-submit"))
    item = snapshot(page)["content"][content_id]
    assert item["interactions"] == {}
    assert item["status"] == "completed"  # a retry never lowers the status
    assert not page.is_checked(tid("quiz-option-less-likely"))
    assert page.locator(tid("quiz-result")).count() == 0

    # the right answer: passed with the item's score
    page.check(tid("quiz-option-even"))
    page.wait_for_selector(f"{tid('quiz-submit')}:not([disabled])")
    page.click(tid("quiz-submit"))
    page.wait_for_selector(f"{tid('quiz-result')}[data-result='correct']")
    item = snapshot(page)["content"][content_id]
    assert item["status"] == "passed" and item["score"] == 10
    assert item["interactions"] == {
        "coin-streak-answer": {"kind": "quiz", "selectedOptionId": "even"}
    }
    assert "10 / 10" in page.inner_text(tid("quiz-result"))
    assert page.inner_text(tid("item-status")) == "Passed"
    save_screenshot(page, "learning-quiz-result")

    # after a reload the result is still shown
    page.reload()
    wait_ready(page)
    page.wait_for_selector(f"{tid('quiz-result')}[data-result='correct']")
    page.click(tid("back-to-path"))
    assert counts(page, "module-progress-spotting-patterns") == (1, 5)


def test_active_path_switch(learning_server: LearningServer, page: Any) -> None:
    open_page(page, learning_server.url)
    onboard(page, PATH_A)
    page.click(tid("all-paths-link"))
    page.wait_for_selector(tid("paths-view"))
    page.click(tid(f"activate-path-{PATH_B}"))
    page.wait_for_function(f"() => progressClient.snapshot.activePathId === '{PATH_B}'")
    assert page.locator(tid(f"activate-path-{PATH_A}")).is_visible()
    page.goto(learning_server.url + "#/")
    page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_B}']")
    # onboarding stays on the path chosen first; the switch is the active path only
    assert snapshot(page)["onboarding"]["pathId"] == PATH_A
    page.goto(learning_server.url + f"#/path/{PATH_A}")
    page.click(tid("make-active-path"))
    page.wait_for_function(f"() => progressClient.snapshot.activePathId === '{PATH_A}'")
    page.wait_for_selector(tid("active-badge"))


def test_reset_progress_asks_first(learning_server: LearningServer, page: Any) -> None:
    open_page(page, learning_server.url)
    onboard(page, PATH_A)
    complete_lesson(page, PATH_A, *LESSON)
    page.click(tid("reset-progress"))
    dialog = page.locator(tid("reset-dialog"))
    assert dialog.is_visible()
    save_screenshot(page, "learning-reset-dialog")
    page.click(tid("reset-cancel"))
    assert not dialog.is_visible()
    assert snapshot(page)["content"][LESSON[1]]["status"] == "completed"

    page.click(tid("reset-progress"))
    page.keyboard.press("Escape")  # also cancels
    assert not dialog.is_visible()
    assert snapshot(page)["onboarding"]["completed"] is True

    page.click(tid("reset-progress"))
    page.click(tid("reset-confirm"))
    page.wait_for_selector(tid("onboarding"))
    snap = snapshot(page)
    assert snap["content"] == {} and snap["onboarding"]["completed"] is False
    assert snap["activePathId"] is None and snap["streak"]["current"] == 0
    assert page.locator("#progress-items li").count() == 0
    assert snap["lastUpdated"] is not None  # a progress.reset event was added, nothing deleted


def test_locale_switch_keeps_progress(learning_server: LearningServer, page: Any) -> None:
    open_page(page, learning_server.url)
    onboard(page, PATH_A)
    complete_lesson(page, PATH_A, *LESSON)
    assert page.inner_text(f"{tid('item-view')} h2") == "Patterns everywhere"
    page.select_option(tid("locale-select"), "fr")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    page.wait_for_selector(f"{tid('item-view')} h2:text('Des motifs partout')")
    assert page.get_attribute(tid("item-view"), "data-status") == "completed"
    assert page.is_visible(tid("lesson-done"))
    assert page.evaluate("localStorage.getItem('learning_locale')") == "fr"
    page.click(tid("back-to-path"))
    assert page.inner_text(f"{tid('path-view')} h2") == "Penser clairement"
    assert counts(page, "module-progress-spotting-patterns") == (1, 5)
    # remembered across a reload; and switching back shows the same progress
    page.reload()
    wait_ready(page)
    page.wait_for_selector(f"{tid('path-view')} h2:text('Penser clairement')")
    save_screenshot(page, "learning-path-view-fr")
    page.select_option(tid("locale-select"), "en")
    page.wait_for_selector(f"{tid('path-view')} h2:text('Thinking clearly')")
    assert counts(page, "module-progress-spotting-patterns") == (1, 5)


def test_narrow_screen_has_no_horizontal_scroll(
    learning_server: LearningServer, browser: Any
) -> None:
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = ctx.new_page()
        open_page(page, learning_server.url)
        page.wait_for_selector(tid("onboarding"))
        assert no_horizontal_scroll(page)
        onboard(page, PATH_B)
        assert no_horizontal_scroll(page)
        save_screenshot(page, "learning-360-path")
        page.goto(learning_server.url + item_hash(PATH_B, "probability-basics", "quiz-two-dice"))
        page.wait_for_selector(tid("item-view"))
        page.locator(f"{tid('item-view')} input[type=radio]").first.check()
        page.click(tid("quiz-submit"))
        page.wait_for_selector(tid("quiz-result"))
        assert no_horizontal_scroll(page)
        save_screenshot(page, "learning-360-quiz")
        page.click(tid("sign-in-open"))
        assert page.is_visible(tid("sign-in-dialog"))
        assert no_horizontal_scroll(page)
        save_screenshot(page, "learning-360-sign-in")
    finally:
        ctx.close()


def test_offline_banner_follows_the_connection(
    learning_server: LearningServer, context: Any, page: Any
) -> None:
    open_page(page, learning_server.url)
    assert not page.is_visible(tid("offline-banner"))
    context.set_offline(True)
    page.wait_for_selector(tid("offline-banner"), state="visible")
    onboard(page, PATH_A)
    complete_lesson(page, PATH_A, *LESSON)  # the page keeps working offline
    save_screenshot(page, "learning-offline-banner")
    context.set_offline(False)
    page.wait_for_selector(tid("offline-banner"), state="hidden")
