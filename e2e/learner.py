"""A learner's browser for the tests of the learner's experience: a fresh context at a given
width and locale (the page's saved locale), the keyboard (Tab until a control has focus, what
has focus), the live region and colours as the learner sees them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from e2e.browsing import PageLog
from e2e.course import tid

WIDTHS = (1280, 360)
LOCALES = ("en", "fr")
#: The success green of the page (--ok), as computed colours report it.
SUCCESS_GREEN = "rgb(31, 122, 61)"


def seed_event(kind: str, payload: dict[str, Any], occurred_at: str) -> dict[str, Any]:
    """An event of a guest's past, for `learner(seed=...)`."""
    return {
        "eventId": str(uuid.uuid4()),
        "occurredAt": occurred_at,
        "clientId": "e2e-seed",
        "type": kind,
        "payload": payload,
    }


@contextmanager
def learner(
    browser: Any,
    url: str,
    *,
    width: int = 1280,
    locale: str = "en",
    log: PageLog | None = None,
    seed: list[dict[str, Any]] | None = None,
) -> Iterator[Any]:
    """A page of a fresh context `width` px wide showing `locale`, its client ready; with
    `seed`, the guest's stored log holds those events first (a format the client migrates)."""
    ctx = browser.new_context(viewport={"width": width, "height": 800 if width > 600 else 740})
    ctx.add_init_script(
        "if (!localStorage.getItem('learning_locale'))"
        f" localStorage.setItem('learning_locale', '{locale}')"
    )
    if seed:
        log_js = json.dumps(json.dumps({"v": 1, "events": seed}))
        ctx.add_init_script(
            "if (!sessionStorage.getItem('e2e-seeded')) {"
            f" localStorage.setItem('learning_progress_events', {log_js});"
            " sessionStorage.setItem('e2e-seeded', '1') }"
        )
    try:
        page = ctx.new_page()
        if log is not None:
            log.attach(page)
        page.goto(url)
        wait_client(page)
        yield page
    finally:
        ctx.close()


def wait_client(page: Any) -> None:
    """Until the progress client is ready (DESIGN §8's dataset flags, read without eval)."""
    page.wait_for_selector(
        "html[data-progress-ready='true'], html[data-progress-error]", state="attached"
    )
    assert page.get_attribute("html", "data-progress-error") is None


def focused_testid(page: Any) -> str | None:
    return page.evaluate("document.activeElement?.dataset?.testid ?? null")  # type: ignore[no-any-return]


def focus_is_in_view(page: Any) -> bool:
    """Focus is on a control or heading of the page, not lost to <body>."""
    return bool(
        page.evaluate("document.activeElement !== document.body && !!document.activeElement")
    )


def tab_to(page: Any, testid: str, limit: int = 60) -> None:
    """Press Tab until the control `testid` has focus (fails when it cannot be reached)."""
    for _ in range(limit):
        if focused_testid(page) == testid:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{testid} cannot be reached with Tab (focus on {focused_testid(page)})")


def announced(page: Any) -> str:
    """What the page's polite live region says now."""
    return str(page.inner_text(tid("announcer")))


def colour(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).color"))
