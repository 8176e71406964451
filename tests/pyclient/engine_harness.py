"""The sync engine's test harness: an engine on in-memory storage, a fake clock and a fake
server written as a plain handler function; timers are driven by hand (``fire``), as the
browser driver would."""

from __future__ import annotations

import json
from typing import Any

from pyclient import SyncEngine, dump_events
from pyclient.adapters.cpython import MemoryStorage, SystemClock
from pyclient.http.api_client import Session
from pyclient.store.keys import CLIENT_ID_KEY, queue_key
from pyclient.store.local_store import LocalStore

from .fakes import FakeClock, FakeServer, FakeTransport, drive

U1 = Session(user_id="u1", token="token-u1")
U2 = Session(user_id="u2", token="token-u2")
#: The clientId the page stored before the client ever ran (it reads and writes it as pyclient).
PAGE_CLIENT_ID = "page-client"
#: When the page queued an action: a moment before the fake clock's now.
QUEUED_AT = "2025-12-31T23:59:58.123Z"


class Ids:
    def __init__(self, prefix: str = "e") -> None:
        self.prefix, self.n = prefix, 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:04d}"


def make(
    server: FakeServer | None = None,
    storage: MemoryStorage | None = None,
    clock: FakeClock | None = None,
    prefix: str = "e",
) -> tuple[SyncEngine, FakeServer, MemoryStorage, FakeClock]:
    server = server if server is not None else FakeServer()
    storage = storage if storage is not None else MemoryStorage()
    clock = clock if clock is not None else FakeClock()
    engine = SyncEngine(storage, FakeTransport(server), clock, new_id=Ids(prefix))
    return engine, server, storage, clock


def fire(engine: SyncEngine, clock: FakeClock) -> int | None:
    """Advance the clock to the engine's next wakeup and run it; returns that wakeup."""
    wakeup = engine.next_wakeup_ms()
    if wakeup is not None:
        clock.now = max(clock.now, wakeup)
        drive(engine.on_timer(clock.now))
    return wakeup


def statuses(engine: SyncEngine) -> dict[str, str]:
    return {i: e.status for i, e in engine.sync_state.events.items()}


def stored_events(storage: MemoryStorage, user: str | None) -> list[dict[str, Any]]:
    """The stored log as wire-format events, whatever the stored format."""
    copy = MemoryStorage()
    copy.data = dict(storage.data)
    store = LocalStore(copy, SystemClock())
    events = store.read_events(user)
    assert store.warnings == []
    return list(json.loads(dump_events(list(events.values()))))


def stored_ids(storage: MemoryStorage, user: str | None) -> list[str]:
    return [e["eventId"] for e in stored_events(storage, user)]


def signed_in(**kwargs: Any) -> tuple[SyncEngine, FakeServer, MemoryStorage, FakeClock]:
    engine, server, storage, clock = make(**kwargs)
    drive(engine.sign_in(U1))
    return engine, server, storage, clock


def page_started(storage: MemoryStorage, client_id: str = PAGE_CLIENT_ID) -> None:
    """Store this profile's clientId as the page does before the client ever ran."""
    storage.data[CLIENT_ID_KEY] = json.dumps({"v": 1, "clientId": client_id})


def page_event(
    n: int, occurred_at: str, content_id: str = "lesson-1", client_id: str = PAGE_CLIENT_ID
) -> dict[str, Any]:
    """An event as the page creates it before the client is ready (a UUID eventId)."""
    return {
        "eventId": f"7f1c2a3b-0000-4000-8000-{n:012d}",
        "occurredAt": occurred_at,
        "clientId": client_id,
        "type": "content.progressed",
        "payload": {"contentId": content_id, "status": "completed"},
    }


def queue_action(storage: MemoryStorage, event: dict[str, Any], user: str | None) -> str:
    """Queue an action as the page does before the client is ready; returns its key."""
    key = queue_key(event["eventId"])
    storage.data[key] = json.dumps({"v": 1, "userId": user, "event": event})
    return key


def queued_keys(storage: MemoryStorage) -> list[str]:
    """The keys of queued actions (not of values kept aside from them)."""
    return [
        k for k in storage.data if k.startswith("learning_progress_queue:") and k.count(":") == 1
    ]


def wire(engine: SyncEngine) -> list[dict[str, Any]]:
    """The engine's log in memory as wire-format events."""
    return list(json.loads(dump_events(engine.events)))
