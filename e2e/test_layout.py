"""The page's layout as a learner sees it: a compact header at 360 px, no word broken in the
middle (French included), the offline banner within the content column, a header that does not
move while the page starts, and the progress panel one tap away on a narrow screen."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.course import LESSON, PATH_A, complete_lesson, onboard, tid
from e2e.learner import LOCALES, WIDTHS, learner
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

#: Words of the elements under `selector` that the layout split over two lines (a break at a
#: space, a hyphen, a slash or a dash is not one).
BROKEN_WORDS = """(selector) => {
  const broken = []
  for (const root of document.querySelectorAll(selector)) {
    if (!root.getClientRects().length) continue
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const words = /[^\\s\\-\\/·—]+/g
      let m
      while ((m = words.exec(node.data))) {
        const range = document.createRange()
        range.setStart(node, m.index)
        range.setEnd(node, m.index + m[0].length)
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0)
          .map((r) => Math.round(r.bottom)))
        if (lines.size > 1) broken.push(m[0])
      }
    }
  }
  return broken
}"""
#: Records the layout shifts of the header from the start (the Layout Instability API).
SHIFTS = """
window.__headerShifts = []
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    for (const source of entry.sources || []) {
      const node = source.node?.nodeType === 1 ? source.node : source.node?.parentElement
      if (node?.closest('header')) {
        const what = node.id || node.className || node.nodeName
        const rects = [source.previousRect, source.currentRect].map((r) => JSON.stringify(r))
        window.__headerShifts.push(`${what} ${rects.join(' -> ')}`)
      }
    }
  }
}).observe({ type: 'layout-shift', buffered: true })
"""


def box(page: Any, selector: str) -> dict[str, float]:
    return page.eval_on_selector(selector, "el => el.getBoundingClientRect().toJSON()")  # type: ignore[no-any-return]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_header_is_compact_at_360_px(
    learning_server: LearningServer, browser: Any, locale: str
) -> None:
    with learner(browser, learning_server.url, width=360, locale=locale) as page:
        onboard(page, PATH_A)
        assert box(page, "header")["height"] <= 100
        # still there: the language, the status, sign in
        for testid in ("locale-select", "sync-status", "sign-in-open"):
            assert page.is_visible(tid(testid))
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", LOCALES)
def test_no_word_is_broken_in_the_middle(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        onboard(page, PATH_A)
        complete_lesson(page, PATH_A, *LESSON)
        page.click(tid("item-next"))
        page.wait_for_selector(f"{tid('item-view')}[data-status='in_progress']")
        page.context.set_offline(True)
        page.wait_for_selector(tid("offline-banner"), state="visible")
        broken = page.evaluate(BROKEN_WORDS, "header, .banner-wrap, #progress, #view")
        assert broken == []
        page.context.set_offline(False)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_offline_banner_stays_within_the_content_column(
    learning_server: LearningServer, browser: Any, width: int
) -> None:
    with learner(browser, learning_server.url, width=width) as page:
        onboard(page, PATH_A)
        page.context.set_offline(True)
        page.wait_for_selector(tid("offline-banner"), state="visible")
        banner = box(page, tid("offline-banner"))
        main = box(page, "main")
        right = box(page, "aside" if width > 900 else "main")["right"]
        assert banner["left"] >= main["left"] - 0.5
        assert banner["right"] <= right + 0.5
        page.context.set_offline(False)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_header_does_not_shift_while_the_page_starts(
    learning_server: LearningServer, browser: Any, locale: str
) -> None:
    with learner(browser, learning_server.url, locale=locale) as page:
        page.add_init_script(SHIFTS)
        page.reload()
        page.wait_for_selector("html[data-progress-ready='true']", state="attached")
        page.wait_for_selector(tid("onboarding"))
        page.wait_for_timeout(500)
        assert page.inner_text(tid("account-label"))  # the guest label is shown
        assert page.evaluate("window.__headerShifts") == []


def test_the_progress_panel_is_one_tap_away_at_360_px(
    learning_server: LearningServer, browser: Any
) -> None:
    with learner(browser, learning_server.url, width=360) as page:
        onboard(page, PATH_A)
        complete_lesson(page, PATH_A, *LESSON)
        jump = box(page, tid("progress-jump"))
        assert jump["bottom"] <= box(page, tid("item-view"))["top"]  # above the lesson
        assert page.inner_text(tid("progress-jump")) == "Your progress: 1 of 15 done ↓"
        page.click(tid("progress-jump"))
        page.wait_for_function("() => document.activeElement?.id === 'progress-title'")
        panel = box(page, tid("progress-panel"))
        assert 0 <= panel["top"] < 740


def test_the_progress_panel_is_beside_the_lesson_at_1280_px(
    learning_server: LearningServer, browser: Any
) -> None:
    with learner(browser, learning_server.url, width=1280) as page:
        onboard(page, PATH_A)
        complete_lesson(page, PATH_A, *LESSON)
        assert not page.is_visible(tid("progress-jump"))
        panel, lesson = box(page, tid("progress-panel")), box(page, tid("item-view"))
        assert panel["left"] >= lesson["right"] and panel["top"] < 800
