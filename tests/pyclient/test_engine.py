"""The engine on this device (spec §6.2, §7.1, DESIGN §5): optimistic updates, the stored
log, full storage, corrupt data, other tabs and reloads, and the actions the page queued before
the client was ready under each of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyclient import EngineStatus, SyncEngine, canonical_json
from pyclient.adapters.cpython import MemoryStorage
from pyclient.engine import DEBOUNCE_MS
from pyclient.store.keys import (
    GUEST_EVENTS_KEY,
    GUEST_SNAPSHOT_KEY,
    events_key,
    queue_key,
    sync_key,
)
from pyclient.store.local_store import LocalStore
from pyclient.store.log_format import encode_log

from .engine_harness import (
    QUEUED_AT,
    U1,
    Ids,
    fire,
    make,
    page_event,
    page_started,
    queue_action,
    queued_keys,
    signed_in,
    statuses,
    stored_events,
    stored_ids,
    wire,
)
from .fakes import FakeClock, FakeServer, FakeTransport, drive, error_response, start

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
    assert (engine.status.error_code, engine.status.error_status) == ("storage_full", None)
    assert statuses(engine)[second] == "error"
    assert storage.data == before  # nothing deleted, nothing half-written
    assert stored_ids(storage, "u1") == [first]
    storage.quota = None  # space was freed
    third = engine.record_progress("lesson-3", "in_progress")
    assert stored_ids(storage, "u1") == [first, second, third]
    assert engine.status.storage_warning is None
    assert statuses(engine)[second] == "local"
    drive(engine.sync())  # the server is down: the code says so now
    assert (engine.status.error_code, engine.status.error_status) == ("down", 503)


def test_storage_full_as_guest_warns_and_keeps_the_snapshot() -> None:
    storage = MemoryStorage(quota=10)
    engine, _, _, _ = make(storage=storage)
    engine.record_progress("lesson-1", "completed")
    assert engine.snapshot.content["lesson-1"].status == "completed"
    assert engine.status.state == "error" and engine.status.storage_warning
    assert engine.status.to_json()["errorCode"] == "storage_full"


def test_storage_full_keeps_the_queued_key_and_the_event_in_memory_until_a_write_succeeds() -> None:
    engine, _, storage, _ = signed_in()
    event = page_event(1, QUEUED_AT, "lesson-1", client_id=engine.client_id)
    key = queue_action(storage, event, "u1")
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items())  # full now
    engine.ingest_queue()
    assert engine.snapshot.content["lesson-1"].status == "completed"  # in memory
    assert wire(engine) == [event] and statuses(engine) == {event["eventId"]: "error"}
    assert engine.status.storage_warning
    assert storage.data[key]  # the durable copy stays
    assert stored_ids(storage, "u1") == []
    storage.quota = None  # space was freed
    later = engine.record_progress("lesson-2", "completed")
    assert sorted(stored_ids(storage, "u1")) == sorted([event["eventId"], later])
    assert key not in storage.data
    assert statuses(engine) == {event["eventId"]: "local", later: "local"}
    assert engine.status.storage_warning is None


def test_an_action_for_another_user_stays_queued_while_storage_is_full() -> None:
    storage = MemoryStorage()
    page_started(storage)
    event = page_event(1, QUEUED_AT)
    key = queue_action(storage, event, "u2")
    engine, _, _, _ = make(storage=storage)
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items())
    engine.ingest_queue()
    assert storage.data[key] and events_key("u2") not in storage.data
    storage.quota = None
    engine.ingest_queue()  # the next start, or the next action queued
    assert stored_events(storage, "u2") == [event] and key not in storage.data


def test_an_action_held_in_memory_stays_queued_when_the_user_signs_out() -> None:
    engine, _, storage, _ = signed_in()
    event = page_event(1, QUEUED_AT, client_id=engine.client_id)
    key = queue_action(storage, event, "u1")
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items())
    engine.ingest_queue()
    engine.sign_out()  # the event was in memory only
    storage.quota = None
    engine.record_progress("lesson-2", "completed")  # a guest write succeeds
    assert key in storage.data and stored_ids(storage, "u1") == []
    engine.ingest_queue()  # the next start
    assert stored_events(storage, "u1") == [event] and key not in storage.data


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


def _unreadable_values() -> dict[str, str]:
    event = page_event(1, QUEUED_AT)

    def value(v: object = 1, user: object = None, **changes: object) -> str:
        return json.dumps({"v": v, "userId": user, "event": {**event, **changes}})

    return {
        "not JSON": "{oops",
        "a newer version": value(v=2),
        "an empty userId": value(user=""),
        "a number for userId": value(user=7),
        "an unknown event type": value(type="badge.earned"),
        "an invalid event": value(payload={"status": "completed"}),
        "another eventId than the key's": value(eventId="another-id"),
    }


UNREADABLE = _unreadable_values()


@pytest.mark.parametrize("raw", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_queued_value_is_kept_aside_and_reported(raw: str) -> None:
    storage = MemoryStorage()
    page_started(storage)
    key = queue_key(page_event(1, QUEUED_AT)["eventId"])
    storage.data[key] = raw
    engine, _, _, _ = make(storage=storage)
    seen: list[EngineStatus] = []
    engine.subscribe(lambda snapshot, status: seen.append(status))
    engine.ingest_queue()
    assert key not in storage.data and engine.events == []
    (aside,) = [k for k in storage.data if k.startswith(key + ":corrupt:")]
    assert storage.data[aside] == raw
    assert engine.status.storage_warning and aside in engine.status.storage_warning
    assert seen and seen[-1].storage_warning == engine.status.storage_warning


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


def test_events_a_racing_write_of_another_tab_dropped_are_written_back() -> None:
    """Tabs read and write the log without a transaction: a tab that read the log before this
    one wrote, then wrote, drops this one's event. This tab writes it again when it sees that
    value (a storage event), with its next write."""
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    tab_a, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="a")
    tab_b, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="b")
    mine = tab_b.record_progress("lesson-1", "completed")
    theirs = tab_a.record_progress("lesson-2", "completed")
    # tab A's write was based on a read from before tab B's: B's event is gone from storage
    racing = [e for e in tab_a.events if e.event_id == theirs]
    storage.data[GUEST_EVENTS_KEY] = encode_log(racing)
    assert mine not in stored_ids(storage, None)
    tab_b.on_storage_change(GUEST_EVENTS_KEY)
    later = tab_b.record_progress("lesson-3", "completed")
    assert set(stored_ids(storage, None)) == {mine, theirs, later}


def test_two_tabs_starting_at_once_store_and_show_every_queued_action_once() -> None:
    """Both tabs read the queue before either removed a key."""
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    page_started(storage)
    events = [page_event(n, f"2025-12-31T23:59:5{n}.000Z", f"lesson-{n}") for n in range(3)]
    for event in events:
        queue_action(storage, event, "u1")
    queued = {k: storage.data[k] for k in queued_keys(storage)}
    tab_a, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="a")
    tab_b, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="b")
    drive(tab_a.sign_in(U1))
    drive(tab_b.sign_in(U1))
    tab_a.ingest_queue()
    storage.data.update(queued)  # what tab B read before tab A removed the keys
    tab_b.ingest_queue()
    ids = [e["eventId"] for e in events]
    assert sorted(stored_ids(storage, "u1")) == ids
    for tab in (tab_a, tab_b):
        assert sorted(e.event_id for e in tab.events) == ids
    assert canonical_json(tab_a.snapshot) == canonical_json(tab_b.snapshot)
    assert queued_keys(storage) == []
    fire(tab_a, clock)
    fire(tab_b, clock)
    assert sorted(server.ids()) == ids


def test_an_action_another_tab_took_in_and_synced_stays_synced() -> None:
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    page_started(storage)
    event = page_event(1, QUEUED_AT)
    key = queue_action(storage, event, "u1")
    queued = storage.data[key]
    tab_a, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="a")
    tab_b, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="b")
    drive(tab_a.sign_in(U1))
    drive(tab_b.sign_in(U1))
    tab_a.ingest_queue()
    drive(tab_a.sync())
    assert statuses(tab_a) == {event["eventId"]: "synced"}
    storage.data[key] = queued  # tab B read it before tab A removed it
    tab_b.ingest_queue()
    assert statuses(tab_b) == {event["eventId"]: "synced"}
    assert wire(tab_b) == [event] and key not in storage.data
    assert tab_b.next_wakeup_ms() is None  # nothing to send
    stored = LocalStore(storage, clock).read_sync("u1").events
    assert stored[event["eventId"]].status == "synced"


def test_an_action_another_starting_tab_queues_is_taken_in_on_its_storage_event() -> None:
    engine, _, storage, clock = signed_in()
    event = page_event(1, QUEUED_AT, client_id=engine.client_id)
    key = queue_action(storage, event, "u1")
    engine.on_storage_change(key + ":corrupt:2026-01-01T00:00:00.000Z")  # not an action
    assert engine.events == [] and key in storage.data
    engine.on_storage_change(key)
    assert statuses(engine) == {event["eventId"]: "local"} and key not in storage.data
    assert engine.next_wakeup_ms() == clock.now + DEBOUNCE_MS
