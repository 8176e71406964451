"""Driving the progress client through its JS API (`window.progressClient`, DESIGN §8), and
reading the guest log as the page stored it."""

from __future__ import annotations

from typing import Any

from pyclient.adapters.cpython import MemoryStorage, SystemClock
from pyclient.store.local_store import LocalStore

STORED_LOGS = """Object.fromEntries(Object.keys(localStorage)
  .filter((k) => k.startsWith('learning_progress_events'))
  .map((k) => [k, localStorage.getItem(k)]))"""


def stored_events(page: Any) -> list[Any]:
    """The guest log as stored by the page (whatever its format version, every segment)."""
    storage = MemoryStorage()
    storage.data = page.evaluate(STORED_LOGS)
    assert "learning_progress_events" in storage.data
    store = LocalStore(storage, SystemClock())
    events = store.read_events(None)
    assert store.warnings == [], store.warnings
    return list(events.values())


def sign_in(page: Any, email: str, password: str) -> dict[str, Any]:
    status: dict[str, Any] = page.evaluate(
        "([email, password]) => progressClient.signIn({email, password})", [email, password]
    )
    return status


def status(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("progressClient.status")
    return result


def wait_state(page: Any, state: str, timeout_ms: int = 20_000) -> dict[str, Any]:
    page.wait_for_function(
        "(s) => progressClient.status.state === s", arg=state, timeout=timeout_ms
    )
    return status(page)


def record(page: Any, content_id: str, st: str = "completed", **extra: Any) -> str:
    event_id: str = page.evaluate(
        "(args) => progressClient.recordProgress(args)",
        {"contentId": content_id, "status": st, **extra},
    )
    return event_id


def wait_settled(*pages: Any, timeout_s: float = 30) -> None:
    """Every page synced with nothing pending (after one more manual sync each)."""
    for pg in pages:
        pg.evaluate("progressClient.sync()")
    for pg in pages:
        pg.wait_for_function(
            "() => progressClient.status.state === 'synced' && progressClient.status.pending === 0",
            timeout=timeout_s * 1000,
        )
