"""GET and PUT /api/v1/learning/progress: idempotency, paging, isolation, the snapshot."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from pyclient import canonical_json, parse_events, reduce_events
from pyserver import create_app
from pyserver.storage import Storage

from .conftest import LiveServer, auth
from .events import many, progressed, put_body

PROGRESS = "/api/v1/learning/progress"


def _put(server: LiveServer, user: str, events: list[dict[str, Any]]) -> None:
    response = server.client.put(PROGRESS, json=put_body(events), headers=auth(user))
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True}


def _pull_all(server: LiveServer, user: str, limit: int | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {} if limit is None else {"limit": limit}
    while True:
        response = server.client.get(PROGRESS, params=params, headers=auth(user))
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        events.extend(data["events"])
        params["since"] = data["cursor"]
        if not data["hasMore"]:
            return events


def _snapshot(server: LiveServer, user: str) -> dict[str, Any]:
    response = server.client.get(PROGRESS, headers=auth(user))
    return dict(response.json()["data"]["snapshot"])


# --------------------------------------------------------------------------- idempotency


def test_the_same_event_twice_is_stored_once(server: LiveServer) -> None:
    event = progressed("e1", status="passed", score=90)
    _put(server, "u", [event])
    _put(server, "u", [event])
    assert _pull_all(server, "u") == [event]


def test_a_batch_with_a_duplicate_stores_one_copy(server: LiveServer) -> None:
    event = progressed("e1")
    _put(server, "u", [event, progressed("e2", 1), event])
    assert [e["eventId"] for e in _pull_all(server, "u")] == ["e1", "e2"]


def test_a_retried_put_whose_response_was_lost_stores_one_copy(server: LiveServer) -> None:
    batch = many("retry", 50)
    _put(server, "u", batch)  # the client never saw this {ok: true} ...
    _put(server, "u", batch)  # ... and sends the same request again
    assert _pull_all(server, "u") == batch


def test_events_are_returned_exactly_as_sent(server: LiveServer) -> None:
    events = [
        progressed("a", 0, status="passed", score=100, contentVersion="v1",
                   interaction={"interactionId": "q1",
                                "state": {"kind": "quiz", "selectedOptionId": "c"}}),
        progressed("b", 1, score=12.5, interaction={"interactionId": "q1", "state": None}),
        {"eventId": "c", "occurredAt": "2025-12-22T21:36:50.595+01:00", "clientId": "k",
         "type": "onboarding.completed", "payload": {"pathId": "p"}},
        {"eventId": "d", "occurredAt": "2025-12-22T20:36:50Z", "clientId": "k",
         "type": "onboarding.reset"},
        {"eventId": "e", "occurredAt": at_utc(), "clientId": "k", "type": "activePath.set",
         "payload": {"pathId": None}},
        {"eventId": "f", "occurredAt": at_utc(), "clientId": "k", "type": "progress.reset"},
    ]  # fmt: skip
    _put(server, "u", events)
    assert _pull_all(server, "u") == events


def at_utc() -> str:
    return "2025-12-23T00:00:00.000Z"


def test_an_empty_batch_is_accepted(server: LiveServer) -> None:
    _put(server, "u", [])
    response = server.client.get(PROGRESS, headers=auth("u"))
    data = response.json()["data"]
    assert data["events"] == []
    assert data["hasMore"] is False
    assert data["snapshot"] == json.loads(canonical_json(reduce_events([])))


def test_extra_top_level_fields_are_allowed(server: LiveServer) -> None:
    body = put_body([progressed("e1")], deviceName="laptop")
    response = server.client.put(PROGRESS, json=body, headers=auth("u"))
    assert response.status_code == 200


# --------------------------------------------------------------------------- paging


def test_ten_thousand_events_page_back_complete_in_order_without_duplicates(
    server: LiveServer,
) -> None:
    sent = many("page", 10_000)
    for start in range(0, len(sent), 500):
        _put(server, "u", sent[start : start + 500])
    for limit in (None, 777, 5000):
        received = _pull_all(server, "u", limit)
        assert [e["eventId"] for e in received] == [e["eventId"] for e in sent]
    first = server.client.get(PROGRESS, headers=auth("u")).json()["data"]
    assert len(first["events"]) == 1000
    assert first["hasMore"] is True


def test_since_the_last_cursor_there_is_nothing_until_a_new_event(server: LiveServer) -> None:
    _put(server, "u", many("a", 3))
    cursor = server.client.get(PROGRESS, headers=auth("u")).json()["data"]["cursor"]
    data = server.client.get(PROGRESS, params={"since": cursor}, headers=auth("u")).json()["data"]
    assert (data["events"], data["cursor"], data["hasMore"]) == ([], cursor, False)
    _put(server, "u", [progressed("new", 99)])
    data = server.client.get(PROGRESS, params={"since": cursor}, headers=auth("u")).json()["data"]
    assert [e["eventId"] for e in data["events"]] == ["new"]


def test_an_event_committed_right_after_a_page_is_read_comes_with_the_next_page(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request commits an event between this GET reading its rows and making its
    cursor: the cursor must be that of the last row it returns (not the log's end read
    afterwards), so paging on from it returns the event."""
    _put(server, "u", many("a", 3))
    read = server.storage.read_events
    late = progressed("late", 50)

    def read_then_another_commits(user_id: str, *args: Any, **kwargs: Any) -> Any:
        rows = read(user_id, *args, **kwargs)
        if not late_stored:
            late_stored.append(True)
            server.storage.append_events(user_id, [("late", json.dumps(late))])
        return rows

    late_stored: list[bool] = []
    monkeypatch.setattr(server.storage, "read_events", read_then_another_commits)
    first = server.client.get(PROGRESS, headers=auth("u")).json()["data"]
    assert late_stored and "late" not in [e["eventId"] for e in first["events"]]
    params = {"since": first["cursor"]}
    then = server.client.get(PROGRESS, params=params, headers=auth("u")).json()["data"]
    assert [e["eventId"] for e in then["events"]] == ["late"]


# --------------------------------------------------------------------------- isolation


def test_users_with_the_same_event_ids_see_only_their_own_events(server: LiveServer) -> None:
    alice = [progressed("shared", 0, content_id="alice-item")]
    bob = [progressed("shared", 5, content_id="bob-item")]
    _put(server, "alice", alice)
    _put(server, "bob", bob)
    assert _pull_all(server, "alice") == alice
    assert _pull_all(server, "bob") == bob
    assert set(_snapshot(server, "bob")["content"]) == {"bob-item"}


def test_a_cursor_of_one_user_is_refused_for_another(server: LiveServer) -> None:
    _put(server, "alice", many("a", 3))
    cursor = server.client.get(PROGRESS, headers=auth("alice")).json()["data"]["cursor"]
    response = server.client.get(PROGRESS, params={"since": cursor}, headers=auth("bob"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


# --------------------------------------------------------------------------- snapshot


def _expected(events: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(json.loads(canonical_json(reduce_events(parse_events(json.dumps(events))))))


def test_the_snapshot_equals_the_reducer_over_every_arrival_order(server: LiveServer) -> None:
    rng = random.Random(4)
    reset = {"eventId": "r", "occurredAt": "2025-12-22T20:00:30.000Z", "clientId": "k",
             "type": "progress.reset"}  # fmt: skip
    events = [*many("s", 120), reset]
    shuffled = events[:]
    rng.shuffle(shuffled)
    sent: list[dict[str, Any]] = []
    for start in range(0, len(shuffled), 17):
        batch = shuffled[start : start + 17]
        _put(server, "u", batch)
        sent += batch
        assert _snapshot(server, "u") == _expected(sent)


def test_in_order_arrivals_update_the_snapshot_without_a_full_reduction(
    server: LiveServer,
) -> None:
    cache = server.app.state.api.snapshots
    events = many("inc", 60)
    _put(server, "u", events[:20])
    _snapshot(server, "u")
    full = cache.full_reductions
    for start in (20, 40):
        _put(server, "u", events[start : start + 20])
        assert _snapshot(server, "u") == _expected(events[: start + 20])
    assert cache.full_reductions == full
    assert cache.incremental_updates >= 2
    for _ in range(3):  # an unchanged log is neither reduced nor updated
        _snapshot(server, "u")
    assert cache.full_reductions == full


def test_an_event_from_the_past_triggers_a_full_reduction(server: LiveServer) -> None:
    cache = server.app.state.api.snapshots
    _put(server, "u", many("x", 10, start=100))
    _snapshot(server, "u")
    full = cache.full_reductions
    late = progressed("late", 1, content_id="item-late", status="passed")
    _put(server, "u", [late])
    assert _snapshot(server, "u") == _expected([*many("x", 10, start=100), late])
    assert cache.full_reductions == full + 1


def test_servers_sharing_a_database_serve_current_snapshots(storage: Storage) -> None:
    first = LiveServer.start(storage)
    second = LiveServer.start(storage)
    try:
        events = many("m", 30)
        _put(first, "u", events[:10])
        assert _snapshot(second, "u") == _expected(events[:10])
        _put(second, "u", events[10:20])
        assert _snapshot(first, "u") == _expected(events[:20])
        _put(first, "u", events[20:])
        assert _snapshot(second, "u") == _expected(events)
        assert _snapshot(first, "u") == _expected(events)
    finally:
        first.stop()
        second.stop()


def test_a_restarted_server_resumes_from_the_persisted_snapshot(storage: Storage) -> None:
    first = LiveServer.start(storage)
    events = many("p", 40)
    try:
        _put(first, "u", events[:30])
        _snapshot(first, "u")
    finally:
        first.stop()
    second = LiveServer.start(storage)
    try:
        _put(second, "u", events[30:])
        assert _snapshot(second, "u") == _expected(events)
        assert second.app.state.api.snapshots.full_reductions == 0
    finally:
        second.stop()


def test_create_app_serves_openapi_with_the_progress_paths(storage: Storage) -> None:
    app = create_app(storage, "x" * 40)
    assert app.state.api.openapi_body.startswith("{")
    document = json.loads(app.state.api.openapi_body)
    assert set(document["paths"]["/api/v1/learning/progress"]) == {"get", "put"}
