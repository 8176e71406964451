"""The sync engine, specified: spec §6 to §8.2, DESIGN §5 and issue 5 acceptance point 1.

Fake clock, in-memory storage and a fake server written as a plain handler function; the
engine's timers are driven by hand (``fire``), as the browser driver would.
"""

from __future__ import annotations

import json
from typing import Any

from pyclient import EngineStatus, SyncEngine, canonical_json, dump_events, reduce_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.sync_state import RETRY_DELAYS_MS
from pyclient.engine import DEBOUNCE_MS
from pyclient.http.api_client import Session
from pyclient.store.keys import GUEST_EVENTS_KEY, GUEST_SNAPSHOT_KEY, events_key, sync_key
from pyclient.store.log_format import decode_log

from .fakes import FakeClock, FakeServer, FakeTransport, Request, drive, error_response, start

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


# ---------------------------------------------------------------- optimistic updates (§6.2)


def test_an_update_shows_at_once_is_stored_and_marked_local() -> None:
    engine, server, storage, _ = signed_in()
    seen: list[EngineStatus] = []
    engine.subscribe(lambda snapshot, status: seen.append(status))
    event_id = engine.record_progress("lesson-1", "completed", score=80)
    assert engine.snapshot.content["lesson-1"].status == "completed"
    assert statuses(engine) == {event_id: "local"}
    assert stored_ids(storage, "u1") == [event_id]
    assert json.loads(storage.data[sync_key("u1")])["sync"]["events"][event_id]["status"] == "local"
    assert seen[-1].state == "local" and seen[-1].pending == 1
    assert server.puts() == []  # debounced, not yet sent


def test_the_sync_is_debounced_after_an_update() -> None:
    engine, server, _, clock = signed_in()
    engine.record_progress("lesson-1", "in_progress")
    clock.advance(500)
    engine.record_progress("lesson-1", "completed")
    assert engine.next_wakeup_ms() == clock.now + DEBOUNCE_MS
    fire(engine, clock)
    assert len(server.puts()) == 1 and len(server.puts()[0].body["events"]) == 2
    assert engine.status.state == "synced"


def test_occurred_at_never_goes_back_even_if_the_clock_does() -> None:
    engine, _, _, clock = make()
    first = engine.record_progress("a", "in_progress")
    clock.advance(-60_000)
    second = engine.record_progress("a", "completed")
    times = {e.event_id: e.occurred_at for e in engine.events}
    assert times[second] > times[first]
    assert times[first].endswith("Z") and len(times[first]) == 24


def test_a_guest_records_locally_and_sends_nothing() -> None:
    engine, server, storage, _clock = make()
    engine.complete_onboarding("path-1")
    assert engine.snapshot.onboarding.completed
    assert engine.status.state == "local" and engine.status.user_id is None
    assert engine.next_wakeup_ms() is None
    assert server.requests == []
    assert GUEST_EVENTS_KEY in storage.data and GUEST_SNAPSHOT_KEY in storage.data


# ---------------------------------------------------------------- the worker (§6.3)


def test_a_successful_sync_marks_events_synced_and_stores_the_cursor() -> None:
    engine, server, storage, _clock = signed_in()
    event_id = engine.record_progress("lesson-1", "passed", score=100)
    drive(engine.sync())
    assert statuses(engine) == {event_id: "synced"}
    entry = engine.sync_state.events[event_id]
    assert entry.last_synced_at is not None and entry.retry_count == 0
    assert engine.sync_state.last_synced_cursor == "1"
    assert engine.status.state == "synced" and engine.status.last_successful_sync_at
    assert server.ids() == [event_id]
    stored = json.loads(storage.data[sync_key("u1")])["sync"]
    assert stored["lastSyncedCursor"] == "1"


def test_sync_metadata_is_never_sent() -> None:
    engine, server, storage, _ = signed_in()
    engine.record_progress("lesson-1", "completed", content_version="v1")
    engine.set_active_path("p")
    drive(engine.sync())
    (put,) = server.puts()
    assert set(put.body) == {"clientUpdatedAt", "events"}
    stored = stored_events(storage, "u1")
    assert sorted(put.body["events"], key=str) == sorted(stored, key=str)
    text = json.dumps(put.body)
    for word in ('status": "local', "retryCount", "lastSyncedAt", "syncing", "lastSyncedCursor"):
        assert word not in text


def test_a_sync_pulls_remote_events_since_the_cursor_and_follows_has_more() -> None:
    server = FakeServer(page_limit=2)
    other, _, _, _ = make(server=server, prefix="x")
    drive(other.sign_in(U1))
    for n in range(5):
        other.record_progress(f"item-{n}", "completed")
    drive(other.sync())
    engine, _, _, _ = make(server=server)
    drive(engine.sign_in(U1))
    assert sorted(e.event_id for e in engine.events) == sorted(server.ids())
    assert canonical_json(engine.snapshot) == canonical_json(other.snapshot)
    other.record_progress("late", "passed")
    drive(other.sync())
    server.requests.clear()
    drive(engine.sync())
    assert [r.url.split("?")[1] for r in server.gets()] == ["since=5"]
    assert engine.snapshot.content["late"].status == "passed"


def test_pushes_are_batched_under_500_events() -> None:
    engine, server, _, _ = signed_in()
    for n in range(1200):
        engine.record_progress(f"i{n % 7}", "in_progress")
    drive(engine.sync())
    assert [len(r.body["events"]) for r in server.puts()] == [500, 500, 200]
    assert len(server.ids()) == 1200 and engine.status.pending == 0


def test_a_failed_sync_marks_error_counts_the_retry_and_retries_on_the_next_trigger() -> None:
    engine, server, _, clock = signed_in()
    server.fail = lambda r: error_response(500, "internal")
    event_id = engine.record_progress("lesson-1", "completed")
    fire(engine, clock)
    entry = engine.sync_state.events[event_id]
    assert entry.status == "error" and entry.retry_count == 1
    assert engine.status.state == "error" and engine.status.error_message == "internal"
    server.fail = None
    drive(engine.on_visible())
    assert statuses(engine) == {event_id: "synced"}
    assert engine.status.state == "synced" and engine.status.error_message is None


def test_retry_delays_follow_1_5_15_60_seconds_and_stop_after_4_retries() -> None:
    engine, server, _, clock = signed_in()
    server.fail = lambda r: error_response(503, "unavailable")
    engine.record_progress("lesson-1", "completed")
    fire(engine, clock)  # the debounced attempt
    delays = []
    while (wakeup := engine.next_wakeup_ms()) is not None:
        delays.append(wakeup - clock.now)
        fire(engine, clock)
    assert delays == list(RETRY_DELAYS_MS)
    assert len(server.puts()) == 1 + 4
    (entry,) = engine.sync_state.events.values()
    assert entry.status == "error" and entry.retry_count == 5
    # The next trigger starts over.
    engine.record_progress("lesson-2", "completed")
    fire(engine, clock)
    assert engine.next_wakeup_ms() == clock.now + RETRY_DELAYS_MS[0]


def test_retry_after_is_honoured() -> None:
    engine, server, _, clock = signed_in()
    server.fail = lambda r: error_response(429, "rate_limited", {"Retry-After": "30"})
    engine.record_progress("lesson-1", "completed")
    fire(engine, clock)
    assert engine.next_wakeup_ms() == clock.now + 30_000
    server.fail = None
    clock.advance(29_000)
    drive(engine.on_timer(clock.now))
    assert len(server.puts()) == 1  # not yet due
    fire(engine, clock)
    assert engine.status.state == "synced"


def test_a_network_failure_is_retried() -> None:
    from pyclient.errors import NetworkError

    def down(request: Request) -> None:
        raise NetworkError("connection refused")

    engine, server, _, clock = signed_in()
    server.fail = down
    event_id = engine.record_progress("a", "completed")
    fire(engine, clock)
    assert statuses(engine) == {event_id: "error"}
    assert engine.next_wakeup_ms() == clock.now + RETRY_DELAYS_MS[0]
    server.fail = None
    fire(engine, clock)
    assert statuses(engine) == {event_id: "synced"}


def test_a_permanent_4xx_stays_error_until_a_manual_retry() -> None:
    engine, server, _, clock = signed_in()
    server.fail = lambda r: error_response(422, "invalid_event") if r.method == "PUT" else None
    bad = engine.record_progress("lesson-1", "completed")
    fire(engine, clock)
    assert statuses(engine) == {bad: "error"}
    assert engine.next_wakeup_ms() is None  # no automatic retry
    server.fail = None
    good = engine.record_progress("lesson-2", "completed")
    fire(engine, clock)
    assert statuses(engine) == {bad: "error", good: "synced"}
    assert server.ids() == [good]
    drive(engine.sync())  # manual retry
    assert statuses(engine) == {bad: "synced", good: "synced"}


def test_a_permanent_4xx_is_released_by_sign_out() -> None:
    engine, server, _, clock = signed_in()
    server.fail = lambda r: error_response(422, "invalid_event") if r.method == "PUT" else None
    bad = engine.record_progress("lesson-1", "completed")
    fire(engine, clock)
    engine.sign_out()
    assert engine.status.user_id is None
    server.fail = None
    drive(engine.sign_in(U1))
    assert server.ids() == [bad]


def test_401_surfaces_session_expired_without_looping() -> None:
    engine, server, _, clock = signed_in()
    server.tokens.clear()  # the token is no longer accepted
    event_id = engine.record_progress("lesson-1", "completed")
    fire(engine, clock)
    assert engine.status.state == "session_expired"
    assert statuses(engine) == {event_id: "local"}
    assert engine.next_wakeup_ms() is None
    engine.record_progress("lesson-2", "completed")
    drive(engine.on_visible())
    assert engine.next_wakeup_ms() is None and len(server.requests) == 2  # bootstrap GET + 1 PUT
    server.tokens["token-2"] = "u1"
    drive(engine.sign_in(Session(user_id="u1", token="token-2")))
    assert engine.status.state == "synced" and len(server.ids()) == 2


def test_an_invalid_cursor_starts_the_pull_over() -> None:
    engine, server, _, clock = signed_in()
    engine.record_progress("a", "completed")
    drive(engine.sync())
    server.events["u1"] = []  # the server lost its positions
    drive(engine.sync())
    assert engine.sync_state.last_synced_cursor is None
    fire(engine, clock)
    assert engine.status.state == "synced" and engine.sync_state.last_synced_cursor == "0"


# ---------------------------------------------------------------- offline (§7)


def test_offline_keeps_events_local_and_syncs_on_online() -> None:
    engine, server, _, clock = signed_in()
    server.requests.clear()
    drive(engine.set_online(False))
    event_id = engine.record_progress("lesson-1", "completed")
    fire(engine, clock)
    drive(engine.sync())
    assert server.requests == []
    assert statuses(engine) == {event_id: "local"}
    assert engine.status.state == "offline" and engine.status.pending == 1
    drive(engine.set_online(True))
    assert statuses(engine) == {event_id: "synced"}
    assert engine.status.state == "synced"


# ---------------------------------------------------------------- quota (§7.1)


def test_storage_full_keeps_working_warns_marks_error_deletes_nothing_and_persists_later() -> None:
    storage = MemoryStorage()
    engine, server, _, _clock = make(storage=storage)
    server.fail = lambda r: error_response(503, "down")
    drive(engine.sign_in(U1))
    first = engine.record_progress("lesson-1", "completed")
    before = dict(storage.data)
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items())  # full now
    second = engine.record_progress("lesson-2", "passed", score=90)
    assert engine.snapshot.content["lesson-2"].status == "passed"  # in memory
    assert engine.status.state == "error" and engine.status.storage_warning
    assert statuses(engine)[second] == "error"
    assert storage.data == before  # nothing deleted, nothing half-written
    assert stored_ids(storage, "u1") == [first]
    storage.quota = None  # space was freed
    third = engine.record_progress("lesson-3", "in_progress")
    assert stored_ids(storage, "u1") == [first, second, third]
    assert engine.status.storage_warning is None
    assert statuses(engine)[second] == "local"


def test_storage_full_as_guest_warns_and_keeps_the_snapshot() -> None:
    storage = MemoryStorage(quota=10)
    engine, _, _, _ = make(storage=storage)
    engine.record_progress("lesson-1", "completed")
    assert engine.snapshot.content["lesson-1"].status == "completed"
    assert engine.status.state == "error" and engine.status.storage_warning


# ---------------------------------------------------------------- corrupt data (DESIGN §5)


def test_corrupt_keys_are_kept_aside_and_the_engine_still_starts() -> None:
    storage = MemoryStorage()
    good = {
        "eventId": "g1",
        "occurredAt": "2025-01-01T00:00:00.000Z",
        "clientId": "c",
        "type": "activePath.set",
        "payload": {"pathId": "p"},
    }
    storage.data[GUEST_EVENTS_KEY] = json.dumps({"v": 1, "events": [good, {"eventId": 3}]})
    storage.data[GUEST_SNAPSHOT_KEY] = "{not json"
    storage.data[events_key("u1")] = "]]]"
    storage.data[sync_key("u1")] = '{"v": 1, "sync": 7}'
    engine, _, _, _ = make(storage=storage)
    assert engine.snapshot.active_path_id == "p"
    assert engine.status.storage_warning
    aside = {k: v for k, v in storage.data.items() if ":corrupt:" in k}
    assert any(k.startswith(GUEST_EVENTS_KEY + ":corrupt:") for k in aside)
    assert '{"eventId": 3}' in "".join(aside.values())
    drive(engine.sign_in(U1))
    assert {e.event_id for e in engine.events} == {"g1"}
    assert "]]]" in storage.data.values()  # the corrupt auth log is kept aside too


# ---------------------------------------------------------------- bootstrap (§6.1)


def test_guest_events_are_merged_and_guest_storage_cleared_after_the_put_succeeds() -> None:
    engine, server, storage, _ = make()
    guest = engine.record_progress("lesson-1", "completed")
    server.fail = lambda r: error_response(500, "boom") if r.method == "PUT" else None
    drive(engine.sign_in(U1))
    assert guest in {e.event_id for e in engine.events}
    assert GUEST_EVENTS_KEY in storage.data  # the PUT failed: guest keys stay
    assert stored_ids(storage, "u1") == [guest]  # copied into the user's log
    server.fail = None
    drive(engine.sync())
    assert server.ids() == [guest]
    assert GUEST_EVENTS_KEY not in storage.data and GUEST_SNAPSHOT_KEY not in storage.data


def test_guest_storage_stays_when_the_bootstrap_fetch_fails() -> None:
    engine, server, storage, _ = make()
    engine.record_progress("lesson-1", "completed")
    server.fail = lambda r: error_response(503, "down")
    drive(engine.sign_in(U1))
    assert GUEST_EVENTS_KEY in storage.data and engine.status.state == "error"
    assert not engine.bootstrapping


def test_the_bootstrap_queue_replays_updates_made_during_the_initial_fetch() -> None:
    server = FakeServer()
    server.events["u1"] = [
        {
            "eventId": "remote-1",
            "occurredAt": "2025-06-01T00:00:00.000Z",
            "clientId": "other",
            "type": "onboarding.completed",
            "payload": {"pathId": "remote-path"},
        }
    ]
    engine, _, storage, _ = make(server=server)
    during: list[str] = []

    def record_during_fetch(request: Request) -> None:
        if request.method == "GET" and not during:
            assert engine.bootstrapping
            during.append(engine.record_progress("lesson-9", "completed"))
            assert engine.snapshot.content["lesson-9"].status == "completed"  # shown at once
            assert during[0] in stored_ids(storage, "u1")  # and stored at once

    server.fail = record_during_fetch
    drive(engine.sign_in(U1))
    assert not engine.bootstrapping
    assert engine.snapshot.onboarding.path_id == "remote-path"
    assert engine.snapshot.content["lesson-9"].status == "completed"
    assert set(server.ids()) == {"remote-1", during[0]}
    assert statuses(engine)[during[0]] == "synced"
    assert canonical_json(engine.snapshot) == canonical_json(reduce_events(engine.events))


def test_sign_out_switches_to_the_guest_log_and_keeps_the_users_events() -> None:
    engine, _, storage, _ = signed_in()
    mine = engine.record_progress("lesson-1", "completed")
    auth_log = storage.data[events_key("u1")]
    engine.sign_out()
    assert engine.events == [] and engine.snapshot.content == {}
    guest = engine.complete_onboarding("p2")
    assert storage.data[events_key("u1")] == auth_log
    drive(engine.sign_in(U1))
    assert {e.event_id for e in engine.events} == {mine, guest}
    assert engine.snapshot.onboarding.path_id == "p2"


# ---------------------------------------------------------------- tabs and reloads


def test_a_storage_event_from_another_tab_triggers_a_recompute() -> None:
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    tab_a, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="a")
    tab_b, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="b")
    seen: list[Any] = []
    tab_b.subscribe(lambda snapshot, status: seen.append(snapshot))
    tab_a.record_progress("lesson-1", "completed")
    tab_b.on_storage_change("unrelated")
    assert seen == []
    tab_b.on_storage_change(GUEST_EVENTS_KEY)
    assert tab_b.snapshot.content["lesson-1"].status == "completed"
    assert seen and seen[-1] == tab_b.snapshot


def test_two_tabs_writing_at_once_lose_no_event() -> None:
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    tab_a, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="a")
    tab_b, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="b")
    drive(tab_a.sign_in(U1))
    drive(tab_b.sign_in(U1))
    recorded = []
    for n in range(10):  # interleaved, neither tab hearing of the other's writes
        recorded.append(tab_a.record_progress(f"a{n}", "completed"))
        recorded.append(tab_b.record_progress(f"b{n}", "in_progress"))
    assert sorted(stored_ids(storage, "u1")) == sorted(recorded)
    drive(tab_a.sync())
    drive(tab_b.sync())
    drive(tab_a.sync())
    assert sorted(server.ids()) == sorted(recorded)
    assert canonical_json(tab_a.snapshot) == canonical_json(tab_b.snapshot)
    assert tab_a.status.state == tab_b.status.state == "synced"


def test_a_reload_in_the_middle_of_a_sync_loses_nothing() -> None:
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    transport = FakeTransport(server)
    engine = SyncEngine(storage, transport, clock, new_id=Ids("r"))
    drive(engine.sign_in(U1))
    event_id = engine.record_progress("lesson-1", "completed")
    transport.pause = lambda method, url: method == "PUT"
    running = engine.sync()
    assert start(running)  # stopped inside the PUT: the page goes away here
    stored = json.loads(storage.data[sync_key("u1")])["sync"]["events"]
    assert stored[event_id]["status"] == "syncing"
    reloaded = SyncEngine(storage, FakeTransport(server), clock, new_id=Ids("s"))
    drive(reloaded.sign_in(U1))
    assert server.ids() == [event_id]
    assert statuses(reloaded) == {event_id: "synced"}
    running.close()


def test_the_client_id_is_stable_across_reloads() -> None:
    engine, _, storage, _ = make()
    again, _, _, _ = make(storage=storage)
    assert engine.client_id == again.client_id
