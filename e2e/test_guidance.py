"""Guidance for a learner: "Continue where you left off" on the home and path pages, the next
step as the primary button once the item is done, a short acknowledgement when a module or a
path is finished, the progress panel in course order with titles and plain words, the streak
relative to today, "Reset progress" only when there is something to reset, and no "last update"
before anything happened. English at 1280 px and French at 360 px."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from e2e.course import PATH_A, complete_lesson, onboard, tid
from e2e.learner import announced, learner, seed_event
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CASES = [("en", 1280), ("fr", 360)]
ACCENT = "rgb(47, 91, 211)"  # the primary button's fill (--accent)
WORDS = {
    "en": {
        "start": "Start with “Patterns everywhere”",
        "continue": "Continue where you left off: The clustering illusion",
        "module": "Module finished: “Spotting patterns”. Well done!",
        "path": "Path finished: “Thinking clearly”. Well done!",
        "path_done": "You finished this path. Well done!",
        "keep": "2-day streak — learn today to keep it",
        "today": "3-day streak — you learned today",
        "none": "No streak yet — learn today to start one",
        "active": "Thinking clearly · 1 of 15 done",
        "rows": ["Patterns everywhere", "The clustering illusion", "A streak of heads"],
        "statuses": ["Completed", "In progress", "Not passed yet · 0 / 10"],
    },
    "fr": {
        "start": "Commencer par « Des motifs partout »",
        "continue": "Reprendre là où vous en étiez : L'illusion des séries",
        "module": "Module terminé : « Repérer les motifs ». Bravo !",
        "path": "Parcours terminé : « Penser clairement ». Bravo !",
        "path_done": "Vous avez terminé ce parcours. Bravo !",
        "keep": "Série de 2 jours — apprenez aujourd\u2019hui pour la garder",
        "today": "Série de 3 jours — vous avez appris aujourd\u2019hui",
        "none": "Pas encore de série — apprenez aujourd\u2019hui pour en commencer une",
        "active": "Penser clairement · 1 sur 15 terminés",
        "rows": ["Des motifs partout", "L'illusion des séries", "Une série de piles"],
        "statuses": ["Terminé", "En cours", "Pas encore réussi · 0 / 10"],
    },
}


def course(locale: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    paths = json.loads((ROOT / "web/content" / locale / "paths.json").read_text())["paths"]
    items = json.loads((ROOT / "web/content" / locale / "items.json").read_text())["items"]
    return paths, {i["contentId"]: i for i in items}


def done_events(contents: list[str], items: dict[str, dict[str, Any]], at: str) -> list[Any]:
    """The guest onboarded on PATH_A and finished `contents` (quizzes passed) at `at`."""
    events = [
        seed_event("onboarding.completed", {"pathId": PATH_A}, at),
        seed_event("activePath.set", {"pathId": PATH_A}, at),
    ]
    for content_id in contents:
        item = items[content_id]
        payload: dict[str, Any] = {"contentId": content_id, "status": "completed"}
        if item["kind"] == "quiz":
            payload = {"contentId": content_id, "status": "passed", "score": item["score"]}
        events.append(seed_event("content.progressed", payload, at))
    return events


def iso(day: datetime) -> str:
    return day.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def title_of(locale: str, content_id: str) -> str:
    return str(course(locale)[1][content_id]["title"])


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_continue_where_you_left_off_on_home_and_path_pages(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    words = WORDS[locale]
    assert title_of(locale, "clustering-illusion") in words["continue"]
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        onboard(page, PATH_A)
        assert page.inner_text(tid("continue")) == words["start"]
        complete_lesson(page, PATH_A, "spotting-patterns", "patterns-everywhere")
        page.click(tid("item-next"))  # opened, not finished
        page.wait_for_selector(f"{tid('item-view')}[data-status='in_progress']")
        page.click(tid("back-to-path"))
        page.wait_for_selector(tid("path-view"))
        assert page.inner_text(tid("continue")) == words["continue"]
        page.click("h1 a")  # home: the active path, with the same link
        page.wait_for_selector(tid("continue"))
        assert page.inner_text(tid("continue")) == words["continue"]
        page.click(tid("continue"))
        page.wait_for_selector(f"{tid('item-view')}[data-content-id='clustering-illusion']")


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_next_is_the_primary_button_once_the_item_is_done(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        onboard(page, PATH_A)
        page.click(tid("item-link-spotting-patterns-patterns-everywhere"))
        page.wait_for_selector(tid("mark-complete"))
        fill = "el => getComputedStyle(el).backgroundColor"
        assert page.eval_on_selector(tid("item-next"), fill) != ACCENT
        page.click(tid("mark-complete"))
        page.wait_for_selector(tid("lesson-done"))
        assert page.eval_on_selector(tid("item-next"), fill) == ACCENT
        # a quiz answered wrong is not done: Next stays secondary
        page.click(tid("item-next"))
        page.click(tid("item-next"))
        page.wait_for_selector(f"{tid('item-view')}[data-kind='quiz']")
        page.check(tid("quiz-option-less-likely"))
        page.click(tid("quiz-submit"))
        page.wait_for_selector(tid("quiz-result"))
        assert page.eval_on_selector(tid("item-next"), fill) != ACCENT


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_finishing_a_module_then_the_path_is_acknowledged(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    words = WORDS[locale]
    paths, items = course(locale)
    path = next(p for p in paths if p["pathId"] == PATH_A)
    everything = [c for m in path["modules"] for c in m["items"]]
    last_of_module = path["modules"][0]["items"][-1]  # quiz-regression
    left = [last_of_module, everything[-1]]  # and the path's last quiz
    seed = done_events([c for c in everything if c not in left], items, iso(datetime.now(UTC)))
    with learner(browser, learning_server.url, width=width, locale=locale, seed=seed) as page:
        page.wait_for_selector(f"{tid('path-view')}[data-path-id='{PATH_A}']")
        for content_id, testid, text in (
            (last_of_module, "module-finished", words["module"]),
            (everything[-1], "path-finished", words["path"]),
        ):
            module = next(m for m in path["modules"] if content_id in m["items"])
            page.click(tid(f"item-link-{module['moduleId']}-{content_id}"))
            page.check(tid(f"quiz-option-{items[content_id]['correctOptionId']}"))
            page.click(tid("quiz-submit"))
            page.wait_for_selector(tid(testid))
            assert page.inner_text(tid(testid)) == text
            page.wait_for_function(
                "(t) => document.getElementById('announcer').textContent === t", arg=text
            )
            assert announced(page) == text
            page.click(tid("back-to-path"))
            page.wait_for_selector(tid("path-view"))
        assert page.inner_text(tid("path-finished")) == words["path_done"]
        assert page.locator(tid("continue")).count() == 0


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_the_panel_reads_in_course_order_with_titles_and_plain_words(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    words = WORDS[locale]
    with learner(browser, learning_server.url, width=width, locale=locale) as page:
        # nothing happened yet: nothing to reset, no last update
        assert page.is_disabled(tid("reset-progress"))
        assert not page.is_visible(tid("last-update"))
        assert page.inner_text(tid("streak")) == words["none"]
        onboard(page, PATH_A)
        assert page.is_enabled(tid("reset-progress"))
        assert page.is_visible(tid("last-update"))
        # answered out of course order: a failed quiz, then the second lesson, then the first
        page.goto(
            learning_server.url + "#/path/thinking-clearly/spotting-patterns/quiz-coin-streak"
        )
        page.check(tid("quiz-option-less-likely"))
        page.click(tid("quiz-submit"))
        page.wait_for_selector(tid("quiz-result"))
        page.goto(
            learning_server.url + "#/path/thinking-clearly/spotting-patterns/clustering-illusion"
        )
        page.wait_for_selector(f"{tid('item-view')}[data-status='in_progress']")
        page.click(tid("back-to-path"))
        complete_lesson(page, PATH_A, "spotting-patterns", "patterns-everywhere")
        rows = page.locator("#progress-items li")
        assert rows.locator(".item-id").all_inner_texts() == words["rows"]
        assert rows.locator(".item-status").all_inner_texts() == words["statuses"]
        panel = page.inner_text(tid("progress-panel"))
        for internal in (
            "patterns-everywhere",
            "quiz-coin-streak",
            "thinking-clearly",
            "Onboarding",
        ):
            assert internal not in panel
        assert page.inner_text("#progress-path") == words["active"]


@pytest.mark.parametrize(("locale", "width"), CASES)
def test_the_streak_is_told_relative_to_today(
    learning_server: LearningServer, browser: Any, locale: str, width: int
) -> None:
    words = WORDS[locale]
    _, items = course(locale)
    now = datetime.now(UTC)
    seed = done_events(["patterns-everywhere"], items, iso(now - timedelta(days=2)))
    seed += done_events(["clustering-illusion"], items, iso(now - timedelta(days=1)))
    with learner(browser, learning_server.url, width=width, locale=locale, seed=seed) as page:
        page.wait_for_selector(f"{tid('streak')}[data-current='2']")
        assert page.inner_text(tid("streak")) == words["keep"]
        complete_lesson(page, PATH_A, "spotting-patterns", "regression-to-the-mean")
        page.wait_for_selector(f"{tid('streak')}[data-current='3']")
        assert page.inner_text(tid("streak")) == words["today"]
