"""Identity (spec §6.1): the bootstrap on sign-in, the guest log carried over and cleared only
once all of it reached the server, sign-out; actions the page queued before the client was
ready (DESIGN §5) taken in as the current user's, the guest's or another user's."""

from __future__ import annotations

import json

from pyclient import EngineStatus, HttpResponse, canonical_json, reduce_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.timestamps import format_instant
from pyclient.engine import DEBOUNCE_MS
from pyclient.http.api_client import Session
from pyclient.store.keys import GUEST_EVENTS_KEY, GUEST_SNAPSHOT_KEY, events_key, sync_key

from .engine_harness import (
    QUEUED_AT,
    U1,
    U2,
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
from .fakes import FakeClock, FakeServer, Request, drive, error_response

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


def test_guest_keys_stay_until_every_guest_event_reached_the_server() -> None:
    """501 guest events take two PUTs; when the second fails, the guest log stays stored (some
    of it reached the server, not all of it), and it is cleared once the rest is sent."""
    engine, server, storage, _ = make()
    guest = [engine.record_progress(f"lesson-{n}", "completed") for n in range(501)]
    puts = 0

    def second_put_fails(request: Request) -> HttpResponse | None:
        nonlocal puts
        if request.method == "PUT":
            puts += 1
            if puts == 2:
                return error_response(500, "boom")
        return None

    server.fail = second_put_fails
    drive(engine.sign_in(U1))
    assert puts == 2 and 0 < len(server.ids()) < len(guest)
    assert set(stored_ids(storage, None)) == set(guest)
    assert GUEST_SNAPSHOT_KEY in storage.data
    server.fail = None
    drive(engine.sync())
    assert set(server.ids()) == set(guest)
    assert GUEST_EVENTS_KEY not in storage.data and GUEST_SNAPSHOT_KEY not in storage.data


def test_a_guest_log_another_tab_carried_over_and_cleared_is_not_copied_again() -> None:
    """Tab 1 signs in: the guest event goes to u1 and the guest keys are cleared. Tab 2, which
    read the guest log when it started, then signs in as u2: nothing of u1's goes to u2."""
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    tab_1, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="a")
    guest = tab_1.record_progress("lesson-1", "completed")
    tab_2, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="b")
    drive(tab_1.sign_in(U1))
    assert server.ids("u1") == [guest] and GUEST_EVENTS_KEY not in storage.data
    drive(tab_2.sign_in(Session(user_id="u2", token="token-u2")))
    assert server.ids("u2") == [] and tab_2.events == []


# ---------------------------------------------------------------- early-action queue (DESIGN §5)


def test_a_guest_action_queued_before_the_client_was_ready_joins_the_guest_log() -> None:
    storage = MemoryStorage()
    page_started(storage)
    event = page_event(1, QUEUED_AT, "lesson-1")
    key = queue_action(storage, event, None)
    engine, server, _, _ = make(storage=storage)
    seen: list[EngineStatus] = []
    engine.subscribe(lambda snapshot, status: seen.append(status))
    engine.ingest_queue()
    assert wire(engine) == [event]
    assert engine.snapshot.content["lesson-1"].status == "completed"
    assert stored_ids(storage, None) == [event["eventId"]]
    assert key not in storage.data
    assert seen and seen[-1].state == "local" and seen[-1].pending == 1
    assert engine.next_wakeup_ms() is None and server.requests == []


def test_a_signed_in_action_queued_is_local_and_sent_by_the_next_sync() -> None:
    engine, server, storage, clock = signed_in()
    event = page_event(1, QUEUED_AT, client_id=engine.client_id)
    key = queue_action(storage, event, "u1")
    engine.ingest_queue()
    assert statuses(engine) == {event["eventId"]: "local"}
    assert stored_events(storage, "u1") == [event] and key not in storage.data
    stored_sync = json.loads(storage.data[sync_key("u1")])["sync"]["events"]
    assert stored_sync[event["eventId"]]["status"] == "local"
    assert engine.next_wakeup_ms() == clock.now + DEBOUNCE_MS
    fire(engine, clock)
    (put,) = server.puts()
    assert put.body["events"] == [event]  # exactly as the page created it
    assert statuses(engine) == {event["eventId"]: "synced"}


def test_an_action_queued_for_another_user_goes_to_their_log_and_is_sent_after_sign_in() -> None:
    """The learner clicked while signed in as u2; another tab signed out before this one started:
    the action is u2's, not the guest's."""
    storage = MemoryStorage()
    page_started(storage)
    event = page_event(1, QUEUED_AT)
    key = queue_action(storage, event, "u2")
    engine, server, _, _ = make(storage=storage)
    engine.ingest_queue()
    assert engine.events == [] and GUEST_EVENTS_KEY not in storage.data
    assert stored_events(storage, "u2") == [event] and key not in storage.data
    drive(engine.sign_in(U2))
    assert server.ids("u2") == [event["eventId"]] and server.ids("u1") == []
    assert statuses(engine) == {event["eventId"]: "synced"}


def test_a_guest_action_queued_while_this_tab_is_signed_in_goes_to_the_guest_log() -> None:
    engine, _, storage, _ = signed_in()
    event = page_event(1, QUEUED_AT, client_id=engine.client_id)
    key = queue_action(storage, event, None)
    engine.ingest_queue()
    assert engine.events == [] and stored_ids(storage, "u1") == []
    assert stored_events(storage, None) == [event] and key not in storage.data
    engine.sign_out()
    assert wire(engine) == [event]


def test_taking_in_an_action_again_after_it_was_synced_changes_nothing() -> None:
    engine, server, storage, clock = signed_in()
    event = page_event(1, QUEUED_AT, client_id=engine.client_id)
    key = queue_action(storage, event, "u1")
    queued = storage.data[key]
    engine.ingest_queue()
    fire(engine, clock)
    assert statuses(engine) == {event["eventId"]: "synced"}
    seen: list[EngineStatus] = []
    engine.subscribe(lambda snapshot, status: seen.append(status))
    storage.data[key] = queued
    engine.ingest_queue()
    assert statuses(engine) == {event["eventId"]: "synced"}
    assert wire(engine) == [event] and stored_ids(storage, "u1") == [event["eventId"]]
    assert key not in storage.data and seen == [] and engine.next_wakeup_ms() is None
    assert len(server.puts()) == 1


def test_queued_events_keep_their_ids_and_times_and_later_events_come_after_them() -> None:
    """The page's clock ran ahead of this one (or this one stepped back): the client's next
    event still comes after every one of its queued events, the current user's or not."""
    storage = MemoryStorage()
    page_started(storage)
    mine = page_event(1, "2026-01-01T00:01:00.123Z", "lesson-1")
    theirs = page_event(2, "2026-01-01T00:02:00.456Z", "lesson-2")
    queue_action(storage, mine, None)
    queue_action(storage, theirs, "u2")
    engine, _, _, clock = make(storage=storage)
    assert format_instant(clock.now_ms() * 1000) < mine["occurredAt"]
    engine.ingest_queue()
    assert wire(engine) == [mine] and stored_events(storage, "u2") == [theirs]
    later = engine.record_progress("lesson-3", "completed")
    times = {e.event_id: e.occurred_at for e in engine.events}
    assert times[later] > theirs["occurredAt"] > mine["occurredAt"]


def test_an_action_queued_while_the_sign_in_bootstrap_runs_is_replayed_and_sent() -> None:
    server = FakeServer()
    remote = page_event(9, "2025-06-01T00:00:00.000Z", "lesson-remote", client_id="other")
    server.events["u1"] = [remote]
    engine, _, storage, _ = make(server=server)
    event = page_event(1, QUEUED_AT, "lesson-9", client_id=engine.client_id)
    during: list[str] = []

    def queued_during_fetch(request: Request) -> None:
        if request.method == "GET" and not during:
            assert engine.bootstrapping
            during.append(queue_action(storage, event, "u1"))
            engine.ingest_queue()
            assert engine.snapshot.content["lesson-9"].status == "completed"  # shown at once
            assert stored_events(storage, "u1") == [event]  # and stored at once
            assert queued_keys(storage) == []

    server.fail = queued_during_fetch
    drive(engine.sign_in(U1))
    assert during and not engine.bootstrapping
    assert server.events["u1"] == [remote, event]
    assert statuses(engine)[event["eventId"]] == "synced"
    assert set(engine.snapshot.content) == {"lesson-remote", "lesson-9"}
