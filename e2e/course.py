"""Driving the learning page through its controls (test ids, DESIGN §8): the course's ids the
tests use, onboarding, lessons, progress counts, the sign-in dialog and the sync status."""

from __future__ import annotations

from typing import Any

PATH_A = "thinking-clearly"
PATH_B = "chance-and-evidence"
LESSON = ("spotting-patterns", "patterns-everywhere")
QUIZ = ("spotting-patterns", "quiz-coin-streak")


def tid(name: str) -> str:
    return f"[data-testid='{name}']"


def snapshot(page: Any) -> dict[str, Any]:
    return page.evaluate("window.progressClient.snapshot")  # type: ignore[no-any-return]


def onboard(page: Any, path_id: str = PATH_A) -> None:
    page.click(tid(f"choose-path-{path_id}"))
    page.wait_for_selector(f"{tid('path-view')}[data-path-id='{path_id}']")


def item_hash(path_id: str, module_id: str, content_id: str) -> str:
    return f"#/path/{path_id}/{module_id}/{content_id}"


def complete_lesson(page: Any, path_id: str, module_id: str, content_id: str) -> None:
    page.click(tid(f"item-link-{module_id}-{content_id}"))
    page.wait_for_selector(f"{tid('item-view')}[data-content-id='{content_id}']")
    page.click(tid("mark-complete"))
    page.wait_for_selector(tid("lesson-done"))


def counts(page: Any, testid: str) -> tuple[int, int]:
    el = page.locator(tid(testid))
    return int(el.get_attribute("data-done")), int(el.get_attribute("data-total"))


def link_status(page: Any, module_id: str, content_id: str) -> str:
    return str(page.get_attribute(tid(f"item-link-{module_id}-{content_id}"), "data-status"))


def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def sign_in_ui(page: Any, email: str | None = None, password: str | None = None) -> None:
    """Through the dialog; without credentials, with the prefilled demo ones."""
    page.click(tid("sign-in-open"))
    page.wait_for_selector(tid("sign-in-dialog"), state="visible")
    if email is not None:
        page.fill(tid("sign-in-email"), email)
    if password is not None:
        page.fill(tid("sign-in-password"), password)
    page.click(tid("sign-in-submit"))
    page.wait_for_selector(tid("sign-in-dialog"), state="hidden")
    page.wait_for_selector(f"{tid('sign-out')}:visible")


def sync_state(page: Any) -> str:
    return str(page.get_attribute(tid("sync-status"), "data-state"))


def wait_sync_state(page: Any, state: str, timeout_ms: int = 30_000) -> None:
    page.wait_for_selector(f"{tid('sync-status')}[data-state='{state}']", timeout=timeout_ms)


def wait_synced(page: Any, timeout_ms: int = 30_000) -> None:
    page.wait_for_selector(
        f"{tid('sync-status')}[data-state='synced'][data-pending='0']", timeout=timeout_ms
    )
