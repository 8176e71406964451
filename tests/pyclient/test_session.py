"""Identity (spec §6.1): the bootstrap on sign-in, the guest log carried over and cleared only
once all of it reached the server, sign-out."""

from __future__ import annotations

from pyclient import HttpResponse, canonical_json, reduce_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.http.api_client import Session
from pyclient.store.keys import GUEST_EVENTS_KEY, GUEST_SNAPSHOT_KEY, events_key
from pyclient.store.log_format import decode_log

from .engine_harness import U1, make, signed_in, statuses, stored_ids
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
    assert set(decode_log(storage.data[GUEST_EVENTS_KEY])[0]) == set(guest)
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
