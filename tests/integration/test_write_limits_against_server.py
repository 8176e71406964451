"""The sync engine in CPython against a real ``pyserver`` process that limits writes: a quota
it is over, a PUT rate it must wait out, and differing copies of one eventId on two devices.

Timers are driven by hand with a fake clock; the server's rate window is real time, so the
tests sleep what ``Retry-After`` says before firing the retry.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from pyclient import SyncEngine, canonical_json, parse_events
from pyclient.adapters.cpython import MemoryStorage, UrllibTransport
from pyclient.core.eventlog import preferred_copy
from pyclient.http.api_client import Session
from tests.pyclient.engine_harness import page_event, page_started, queue_action
from tests.pyclient.fakes import FakeClock

from .conftest import Server

QUOTA = 30
RATE = "1 per 1 second"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a small quota (and no rate limit)."""
    env = {"PYSERVER_QUOTA_EVENTS": str(QUOTA), "PYSERVER_PUT_RATE_LIMIT": "none"}
    running = Server(tmp_path_factory.mktemp("quota"), env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that takes one PUT a second from each user (and the default quota)."""
    running = Server(tmp_path_factory.mktemp("rate"), {"PYSERVER_PUT_RATE_LIMIT": RATE})
    yield running
    running.stop()


def engine_for(
    server: Server, storage: MemoryStorage | None = None
) -> tuple[SyncEngine, FakeClock]:
    clock = FakeClock()
    transport = UrllibTransport(timeout=10)
    return SyncEngine(storage or MemoryStorage(), transport, clock, base_url=server.base), clock


async def fire(engine: SyncEngine, clock: FakeClock) -> None:
    wakeup = engine.next_wakeup_ms()
    assert wakeup is not None, "no retry scheduled"
    clock.now = max(clock.now, wakeup)
    await engine.on_timer(clock.now)


def statuses(engine: SyncEngine) -> set[str]:
    return {e.status for e in engine.sync_state.events.values()}


def test_over_the_quota_the_events_are_held_in_error_and_kept(server: Server) -> None:
    async def scenario() -> None:
        session = Session("quota", server.token("quota"))
        engine, clock = engine_for(server)
        await engine.sign_in(session)
        for i in range(QUOTA - 5):
            engine.record_progress(f"lesson-{i}", "completed")
        await fire(engine, clock)
        assert engine.status.state == "synced"
        over = [engine.record_progress(f"more-{i}", "completed") for i in range(10)]
        await fire(engine, clock)
        status = engine.status
        assert status.state == "error" and status.error_code == "quota_exceeded"
        assert status.error_status == 403 and status.to_json()["errorCode"] == "quota_exceeded"
        assert status.pending == 10
        assert {i for i, e in engine.sync_state.events.items() if e.status == "error"} == set(over)
        assert engine.next_wakeup_ms() is None  # permanent: held until a manual sync
        assert set(over) <= {e.event_id for e in engine.events}  # kept, not dropped
        assert len(server.events(session.token)) == QUOTA - 5
        await engine.sync()  # a manual retry is refused the same way, nothing lost
        assert engine.status.error_code == "quota_exceeded" and engine.status.pending == 10

    asyncio.run(scenario())


def test_a_push_slowed_by_the_rate_limit_goes_on_until_everything_is_synced(
    slow_server: Server,
) -> None:
    """Six PUTs at one a second: five of the runs are cut short by a 429 (more than the retry
    schedule's four in a row), yet each gets one batch further, so the push completes."""

    async def scenario() -> None:
        server = slow_server
        session = Session("rate", server.token("rate"))
        storage = MemoryStorage()
        page_started(storage)
        batches = 6
        for n in range(batches * 500):  # queued as a guest: pushed at sign-in, 500 a PUT
            queue_action(storage, page_event(n, "2026-01-01T00:00:00.000Z", f"c-{n}"), None)
        engine, clock = engine_for(server, storage)
        engine.ingest_queue()
        await engine.sign_in(session)
        runs = 1
        codes = [engine.status.error_code]
        while engine.status.state != "synced":
            assert runs <= batches + 2, codes
            assert engine.status.error_code == "rate_limited", engine.status
            assert engine.status.error_status == 429
            await asyncio.sleep(1.05)
            await fire(engine, clock)
            runs += 1
            codes.append(engine.status.error_code)
        assert codes.count("rate_limited") >= 5
        assert len(server.events(session.token)) == batches * 500

    asyncio.run(scenario())


def _copies() -> tuple[dict[str, object], dict[str, object]]:
    """Two differing copies of one eventId: (the one every replica keeps, the other)."""
    a = page_event(1, "2026-01-02T10:00:00.000Z", "lesson-1", client_id="device-a")
    b = {**page_event(1, "2026-01-02T09:00:00.000Z", "lesson-2", client_id="device-b")}
    first, second = parse_events(json.dumps([a, b]))
    return (a, b) if preferred_copy(first, second) is first else (b, a)


@pytest.mark.parametrize("first", ["kept", "other"])
def test_two_devices_with_differing_copies_converge_on_one(server: Server, first: str) -> None:
    """Each device queued its own copy of one eventId; whichever signs in first, after a sync
    of each both hold the copy the server holds, and show the server's snapshot."""

    async def scenario() -> None:
        user = f"twins-{first}"
        session = Session(user, server.token(user))
        kept, other = _copies()
        devices = []
        for copy in (kept, other) if first == "kept" else (other, kept):
            storage = MemoryStorage()
            page_started(storage)
            queue_action(storage, copy, None)
            engine, clock = engine_for(server, storage)
            engine.ingest_queue()
            devices.append((engine, clock))
        for engine, _ in devices:
            await engine.sign_in(session)
        for engine, _ in devices:
            await engine.sync()
        held = server.events(session.token)
        assert held == [kept]
        for engine, _ in devices:
            assert engine.status.state == "synced"
            assert [e.model_dump(mode="json", by_alias=True) for e in engine.events] == [kept]
            assert canonical_json(engine.snapshot) == canonical_json(devices[0][0].snapshot)
        assert devices[0][0].snapshot.content.keys() == {kept["payload"]["contentId"]}  # type: ignore[index]

    asyncio.run(scenario())
