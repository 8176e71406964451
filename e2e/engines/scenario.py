"""The learner's flows, written once for every engine (driver.py's interface): load, a lesson, a
quiz answered wrong then right, a reload, sign-in, two tabs, offline and back.

What is asserted is what the client's snapshot and status hold (DESIGN §3, §8) and the
attributes the page's documented test ids carry (`item-view`'s `data-status`), never UI text,
and what the server holds, read back through its API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from e2e.course import LESSON, PATH_A, QUIZ, item_hash
from e2e.engines.driver import Engine, Tab
from e2e.server_api import progressed, server_state
from e2e.servers import LearningServer

QUIZ_WRONG, QUIZ_RIGHT, QUIZ_SCORE = "less-likely", "even", 10
QUIZ_INTERACTION = "coin-streak-answer"
#: Lessons of the first path's first two modules, one for each later step.
SECOND_LESSON = ("spotting-patterns", "clustering-illusion")
THIRD_LESSON = ("spotting-patterns", "regression-to-the-mean")
OFFLINE_LESSON = ("evaluating-claims", "claims-and-evidence")


@dataclass
class Run:
    """One engine's pass through the flows: the times of its steps, for the report."""

    engine: Engine
    server: LearningServer
    user: tuple[str, str]
    steps: list[tuple[str, float]] = field(default_factory=list)
    step: str = "start"

    def timed(self, name: str, action: Callable[[], Any]) -> Any:
        self.step = name
        started = time.monotonic()
        try:
            result = action()
        except AssertionError as exc:
            raise AssertionError(f"{self.engine.name}, step '{name}': {exc}") from exc
        self.steps.append((name, time.monotonic() - started))
        errors = self.engine.page_errors()
        assert errors == [], f"{self.engine.name}, step '{name}': page errors: {errors}"
        return result


def item_view_status(tab: Tab, content_id: str) -> str:
    """The status the page shows on the open item (`item-view`'s data-status)."""
    return str(
        tab.wait(
            f"document.querySelector(\"[data-testid='item-view']"
            f"[data-content-id='{content_id}']\")?.dataset.status",
            f"the item view of {content_id}",
        )
    )


def wait_item_view(tab: Tab, content_id: str, status: str) -> None:
    tab.wait(
        f"document.querySelector(\"[data-testid='item-view'][data-content-id='{content_id}']"
        f"[data-status='{status}']\") !== null",
        f"the item view of {content_id} showing {status}",
    )


def complete_lesson(tab: Tab, module_id: str, content_id: str) -> dict[str, Any]:
    """Open the lesson by its route and click Mark complete; the snapshot's item."""
    tab.route(item_hash(PATH_A, module_id, content_id))
    item_view_status(tab, content_id)
    tab.click("mark-complete")
    item = tab.wait_item(content_id, "item.status === 'completed'")
    wait_item_view(tab, content_id, "completed")
    return item


def wait_settled(tab: Tab, timeout_s: float = 30) -> dict[str, Any]:
    return tab.wait_status("status.state === 'synced' && status.pending === 0", timeout_s)


def booted_from_snapshot(tab: Tab) -> None:
    """The page started Python from the build's memory snapshot, not the normal boot it falls
    back to (web/python-boot.js): data-pyodide-boot, and the reason when it fell back."""
    boot = tab.eval(
        "[document.documentElement.dataset.pyodideBoot ?? null,"
        " document.documentElement.dataset.pyodideBootFallback ?? null]"
    )
    assert boot == ["snapshot", None], (
        f"{tab.engine.name} tab {tab.number}: booted {boot[0]!r}, not from the memory snapshot"
        f" (fallback reason: {boot[1]!r})"
    )


# the steps ------------------------------------------------------------------------------------
def load(run: Run) -> Tab:
    tab = run.engine.open_tab(run.server.url)
    tab.wait_ready()
    booted_from_snapshot(tab)
    status = tab.status()
    assert status["state"] == "local" and status["userId"] is None, status
    assert tab.snapshot()["content"] == {}
    return tab


def lesson(tab: Tab) -> None:
    item = complete_lesson(tab, *LESSON)
    assert item["contentVersion"] == "v1" and item["completedAt"] is not None, item


def quiz_wrong_then_right(tab: Tab) -> None:
    content_id = QUIZ[1]
    tab.route(item_hash(PATH_A, *QUIZ))
    item_view_status(tab, content_id)
    # a wrong answer: a failed attempt, recorded with score 0 and the answer chosen
    tab.click(f"quiz-option-{QUIZ_WRONG}")
    tab.wait_item(
        content_id,
        f"item.interactions['{QUIZ_INTERACTION}']?.selectedOptionId === '{QUIZ_WRONG}'",
    )
    tab.click("quiz-submit")
    failed = tab.wait_item(content_id, "item.score === 0")
    assert failed["status"] == "completed", failed  # attempted, not passed
    assert failed["completedAt"] is not None, failed
    wait_item_view(tab, content_id, "completed")
    # try again: the answer is cleared, the status is never lowered
    tab.click("quiz-retry")
    retried = tab.wait_item(content_id, "Object.keys(item.interactions).length === 0")
    assert retried["status"] == "completed" and retried["score"] == 0, retried
    # the right answer: passed with the quiz's score
    tab.click(f"quiz-option-{QUIZ_RIGHT}")
    tab.wait_item(
        content_id,
        f"item.interactions['{QUIZ_INTERACTION}']?.selectedOptionId === '{QUIZ_RIGHT}'",
    )
    tab.click("quiz-submit")
    passed = tab.wait_item(content_id, "item.status === 'passed'")
    assert passed["score"] == QUIZ_SCORE, passed
    assert passed["interactions"] == {
        QUIZ_INTERACTION: {"kind": "quiz", "selectedOptionId": QUIZ_RIGHT}
    }
    assert passed["completedAt"] == failed["completedAt"]  # first reached on the failed attempt
    wait_item_view(tab, content_id, "passed")


def reload_persists(tab: Tab) -> None:
    before = tab.snapshot()
    tab.reload()
    booted_from_snapshot(tab)
    after = tab.snapshot()
    assert after == before, (before, after)
    assert after["content"][LESSON[1]]["status"] == "completed"
    assert after["content"][QUIZ[1]]["status"] == "passed"
    wait_item_view(tab, QUIZ[1], "passed")  # the route is kept: the quiz, passed


def signed_in(run: Run, tab: Tab) -> None:
    email, password = run.user
    tab.eval(f"window.progressClient.signIn({{ email: '{email}', password: '{password}' }})")
    status = wait_settled(tab)
    assert status["userId"] is not None and status["errorMessage"] is None, status


def sign_in(run: Run, tab: Tab) -> None:
    signed_in(run, tab)
    events, server_snap = server_state(run.server.url, *run.user)
    assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
    # the quiz's history on the server: chosen, failed (0), cleared, chosen, passed
    quiz_events = [e["payload"] for e in events if e["type"] == "content.progressed"
                   and e["payload"]["contentId"] == QUIZ[1]]  # fmt: skip
    assert [(p["status"], p.get("score")) for p in quiz_events if p.get("score") is not None] == [
        ("completed", 0),
        ("passed", QUIZ_SCORE),
    ], quiz_events
    assert server_snap["content"] == tab.snapshot()["content"]
    # the guest keys are cleared once their events are on the server
    assert tab.eval("localStorage.getItem('learning_progress_events')") is None


def two_tabs(run: Run, first: Tab) -> None:
    user_id = first.status()["userId"]
    second = run.engine.open_tab(run.server.url)
    second.wait_ready()
    booted_from_snapshot(second)
    status = second.wait_status(f"status.userId === '{user_id}'")  # the same profile: signed in
    assert status["state"] in {"synced", "syncing"}, status
    assert second.snapshot()["content"] == first.snapshot()["content"]

    # each tab sees the other's records without a reload
    complete_lesson(first, *SECOND_LESSON)
    second.wait_item(SECOND_LESSON[1], "item.status === 'completed'", timeout_s=20)
    complete_lesson(second, *THIRD_LESSON)
    first.wait_item(THIRD_LESSON[1], "item.status === 'completed'", timeout_s=20)
    first.eval("window.progressClient.sync()")
    wait_settled(first)
    wait_settled(second)
    assert second.snapshot()["content"] == first.snapshot()["content"]
    events, _ = server_state(run.server.url, *run.user)
    for _, content_id in (SECOND_LESSON, THIRD_LESSON):
        assert progressed(events, content_id) == ["in_progress", "completed"], content_id
    second.close()


def offline_then_online(run: Run, tab: Tab) -> None:
    """Record while the server cannot be reached, then reach it again: the events arrive.

    Where the driver can take the browser offline (Chromium, Firefox: fetch fails and
    navigator.onLine is false), the client says `offline`. WebKitWebDriver cannot emulate the
    network, so there the nearest real equivalent is the server process stopping: the push
    fails, the client says `error` and retries on its schedule once the server is back.
    """
    engine = run.engine
    if engine.can_go_offline:
        engine.set_offline(True)
        tab.wait_status("status.state === 'offline'")
        expected, limit_s = "offline", 30
    else:
        run.server.stop()
        # In WebKitGTK the client's PUT to the stopped server gets no answer until its request
        # timeout (30 s), though a plain fetch from the page is refused at once.
        expected, limit_s = "error", 75
    complete_lesson(tab, *OFFLINE_LESSON)
    status = tab.wait_status(f"status.state === '{expected}' && status.pending >= 2", limit_s)
    assert status["lastSuccessfulSyncAt"] is not None, status
    if engine.can_go_offline:
        time.sleep(1.5)  # past the push debounce: still nothing can be sent
        assert tab.status()["state"] == "offline"
        events, _ = server_state(run.server.url, *run.user)
        assert progressed(events, OFFLINE_LESSON[1]) == []
        engine.set_offline(False)
    else:
        run.server.start()
    wait_settled(tab, timeout_s=120)  # no manual sync: the client's own retry
    events, server_snap = server_state(run.server.url, *run.user)
    assert progressed(events, OFFLINE_LESSON[1]) == ["in_progress", "completed"]
    assert server_snap["content"] == tab.snapshot()["content"]


def learner_flows(run: Run) -> None:
    """A guest's lesson and quiz, a reload, sign-in, and two tabs of the signed-in learner."""
    tab: Tab = run.timed("load to ready", lambda: load(run))
    run.timed("complete a lesson", lambda: lesson(tab))
    run.timed("a quiz wrong then right", lambda: quiz_wrong_then_right(tab))
    run.timed("reload persists", lambda: reload_persists(tab))
    run.timed("sign in to synced", lambda: sign_in(run, tab))
    run.timed("two tabs see each other", lambda: two_tabs(run, tab))


def offline_flow(run: Run) -> None:
    """A signed-in learner records offline (or with the server down), then it reaches the server."""
    tab: Tab = run.timed("load to ready", lambda: load(run))
    run.timed("sign in to synced", lambda: signed_in(run, tab))
    run.timed("offline then online", lambda: offline_then_online(run, tab))
