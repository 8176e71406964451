"""A quiz is done when passed: a wrong answer shows "not passed yet" (never in success green)
with the best score on the quiz's scale, and counts in no module or path progress; the right
answer passes it. At 1280 and 360 px, in English and French; a guest's page each time."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.course import PATH_A, QUIZ, counts, onboard, snapshot, tid
from e2e.learner import LOCALES, SUCCESS_GREEN, WIDTHS, colour, learner
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

WORDS = {
    "en": {"not_passed": "Not passed yet", "passed": "Passed", "best": "Best score: {} / 10"},
    "fr": {
        "not_passed": "Pas encore réussi",
        "passed": "Réussi",
        "best": "Meilleur score : {} / 10",
    },
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", LOCALES)
def test_a_wrong_answer_is_not_passed_yet_and_counts_only_once_passed(
    learning_server: LearningServer, browser: Any, width: int, locale: str
) -> None:
    words = WORDS[locale]
    module_id, content_id = QUIZ
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        onboard(page, PATH_A)
        page.click(tid(f"item-link-{module_id}-{content_id}"))
        page.check(tid("quiz-option-less-likely"))
        page.click(tid("quiz-submit"))
        page.wait_for_selector(f"{tid('quiz-result')}[data-result='wrong']")
        # the event is still recorded as it was: completed with 0
        entry = snapshot(page)["content"][content_id]
        assert (entry["status"], entry["score"]) == ("completed", 0)
        # the learner reads "not passed yet", never in success green, and the score's scale
        status = tid("item-status")
        assert page.inner_text(status) == words["not_passed"]
        assert page.get_attribute(status, "data-outcome") == "not_passed"
        assert colour(page, status) != SUCCESS_GREEN
        assert page.inner_text(tid("quiz-best-score")) == words["best"].format(0)
        assert page.is_visible(tid("quiz-not-passed"))
        row = f"#progress-items li[data-content-id='{content_id}']"
        assert words["not_passed"] in page.inner_text(row)
        assert "0 / 10" in page.inner_text(row)
        assert colour(page, f"{row} .item-status") != SUCCESS_GREEN

        # a failed attempt moves no progress bar
        page.click(tid("back-to-path"))
        page.wait_for_selector(tid("path-view"))
        assert counts(page, f"module-progress-{module_id}") == (0, 5)
        assert counts(page, "path-progress") == (0, 15)
        link = tid(f"item-link-{module_id}-{content_id}")
        assert page.inner_text(f"{link} .item-status") == words["not_passed"]
        assert colour(page, f"{link} .item-status") != SUCCESS_GREEN

        # passed: now it counts, with the best score on the same scale
        page.click(link)
        page.click(tid("quiz-retry"))
        page.check(tid("quiz-option-even"))
        page.click(tid("quiz-submit"))
        page.wait_for_selector(f"{tid('quiz-result')}[data-result='correct']")
        assert page.inner_text(tid("item-status")) == words["passed"]
        assert colour(page, tid("item-status")) == SUCCESS_GREEN
        assert page.inner_text(tid("quiz-best-score")) == words["best"].format(10)
        assert page.locator(tid("quiz-not-passed")).count() == 0
        page.click(tid("back-to-path"))
        assert counts(page, f"module-progress-{module_id}") == (1, 5)
        assert counts(page, "path-progress") == (1, 15)
