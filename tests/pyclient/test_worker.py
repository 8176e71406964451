"""The sync worker (spec §6.3, §7, §8.1): debounced syncs, batches, pulls, retries, failures
by kind, offline."""

from __future__ import annotations

import json

from pyclient import canonical_json
from pyclient.core.sync_state import RETRY_DELAYS_MS
from pyclient.http.api_client import Session
from pyclient.store.keys import sync_key

from .engine_harness import U1, fire, make, signed_in, statuses, stored_events
from .fakes import FakeServer, FakeTransport, Request, drive, error_response, start

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


def test_signing_in_again_with_the_same_session_mid_sync_marks_nothing_synced_unsent() -> None:
    """Two syncs of one session overlap (sign_in again with the very same session while a
    sync awaits its PUT): each finishes with what it sent itself, and every event reaches the
    server."""
    engine, server, _, _ = signed_in()
    first = engine.record_progress("lesson-1", "completed")
    transport = engine.api.transport
    assert isinstance(transport, FakeTransport)
    transport.pause = lambda method, _url: method == "PUT"
    running = engine.sync()
    assert start(running)
    second = engine.record_progress("lesson-2", "completed")
    again = engine.sign_in(U1)
    assert start(again)
    transport.pause = None
    drive(running)
    server.fail = lambda r: error_response(500, "boom") if r.method == "PUT" else None
    drive(again)
    assert statuses(engine)[second] != "synced"  # it was not sent
    server.fail = None
    drive(engine.sync())
    assert set(server.ids()) == {first, second}
    assert statuses(engine) == {first: "synced", second: "synced"}
