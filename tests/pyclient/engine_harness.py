"""The sync engine's test harness: an engine on in-memory storage, a fake clock and a fake
server written as a plain handler function; timers are driven by hand (``fire``), as the
browser driver would."""

from __future__ import annotations

import json
from typing import Any

from pyclient import SyncEngine, dump_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.http.api_client import Session
from pyclient.store.keys import events_key
from pyclient.store.log_format import decode_log

from .fakes import FakeClock, FakeServer, FakeTransport, drive

U1 = Session(user_id="u1", token="token-u1")


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
    events, problem = decode_log(storage.data[events_key(user)])
    assert problem is None
    return list(json.loads(dump_events(list(events.values()))))


def stored_ids(storage: MemoryStorage, user: str | None) -> list[str]:
    return [e["eventId"] for e in stored_events(storage, user)]


def signed_in(**kwargs: Any) -> tuple[SyncEngine, FakeServer, MemoryStorage, FakeClock]:
    engine, server, storage, clock = make(**kwargs)
    drive(engine.sign_in(U1))
    return engine, server, storage, clock
