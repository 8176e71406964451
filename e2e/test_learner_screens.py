"""Every main state of the page as a learner sees it, in each locale at 1280 and 360 px: each
saved as a screenshot (test-artifacts/screenshots/<locale>-<width>-<state>.png, for people to
look at) and checked with axe-core, injected by the test (never shipped), for serious or
critical accessibility violations."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from e2e.browsing import ARTIFACTS
from e2e.course import LESSON, PATH_A, QUIZ, onboard, tid, wait_synced
from e2e.learner import LOCALES, WIDTHS, learner
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
#: axe's serious and critical violations on the page as it is now: [(rule, [targets])].
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] })
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => [v.id, v.nodes.map((n) => n.target.join(' '))])
}"""


class Walk:
    """Screenshots and axe checks of one (locale, width) walk through the page."""

    def __init__(self, page: Any, locale: str, width: int) -> None:
        self.page = page
        self.prefix = f"{locale}-{width}"
        self.violations: dict[str, list[Any]] = {}
        if not AXE.exists():
            pytest.fail(f"{AXE} is missing: cd e2e && npm ci --ignore-scripts")
        self.axe_source = AXE.read_text(encoding="utf-8")

    def shot(self, state: str, selector: str | None = None) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.prefix}-{state}.png"
        if selector is None:
            self.page.screenshot(path=str(path))
        else:
            self.page.locator(selector).screenshot(path=str(path))

    def check(self, state: str) -> None:
        """axe on the page now (injected through the test's own channel, never the page's)."""
        if not self.page.evaluate("() => typeof axe !== 'undefined'"):
            self.page.evaluate(self.axe_source)
        found = self.page.evaluate(AXE_RUN)
        if found:
            self.violations[state] = found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", LOCALES)
def test_main_states_are_captured_and_pass_axe(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    email = f"screens-{uuid.uuid4().hex[:10]}@example.com"
    learning_server.add_user(email, "screens-password")
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        walk = Walk(page, locale, width)
        page.wait_for_selector(tid("onboarding"))
        walk.shot("home")
        walk.check("home")

        onboard(page, PATH_A)
        walk.shot("path")
        walk.check("path")

        page.click(tid(f"item-link-{LESSON[0]}-{LESSON[1]}"))
        page.click(tid("mark-complete"))
        page.wait_for_selector(tid("lesson-done"))
        page.evaluate("() => window.scrollTo(0, 0)")
        walk.shot("lesson")
        walk.check("lesson")

        page.goto(learning_server.url + f"#/path/{PATH_A}/{QUIZ[0]}/{QUIZ[1]}")
        page.check(tid("quiz-option-less-likely"))
        page.click(tid("quiz-submit"))
        page.wait_for_selector(f"{tid('quiz-result')}[data-result='wrong']")
        page.locator(tid("item-status")).scroll_into_view_if_needed()
        walk.shot("quiz-failed")
        walk.check("quiz-failed")

        page.click(tid("quiz-retry"))
        page.check(tid("quiz-option-even"))
        page.click(tid("quiz-submit"))
        page.wait_for_selector(f"{tid('quiz-result')}[data-result='correct']")
        page.locator(tid("item-status")).scroll_into_view_if_needed()
        walk.shot("quiz-passed")
        walk.check("quiz-passed")

        walk.shot("progress-panel", tid("progress-panel"))

        page.evaluate("() => window.scrollTo(0, 0)")
        page.click(tid("sign-in-open"))
        page.fill(tid("sign-in-email"), email)
        page.fill(tid("sign-in-password"), "not-the-password")
        page.click(tid("sign-in-submit"))
        page.wait_for_selector(tid("sign-in-error"), state="visible")
        walk.shot("sign-in-error")
        walk.check("sign-in-error")

        page.fill(tid("sign-in-password"), "screens-password")
        page.click(tid("sign-in-submit"))
        page.wait_for_selector(f"{tid('sign-out')}:visible")
        wait_synced(page)
        page.evaluate("() => window.scrollTo(0, 0)")
        walk.shot("signed-in")
        walk.check("signed-in")

        page.context.set_offline(True)
        page.wait_for_selector(tid("offline-banner"), state="visible")
        page.evaluate("() => window.scrollTo(0, 0)")
        walk.shot("offline")
        walk.check("offline")
        page.context.set_offline(False)

    assert walk.violations == {}
