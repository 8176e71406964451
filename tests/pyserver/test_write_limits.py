"""What one user may write: quotas (events, bytes) checked in the append's transaction, the PUT
rate limit, and one rule for differing copies of an eventId (the copy the clients keep).

Storage tests run against SQLite and PostgreSQL; API tests against a live server.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pyclient import canonical_json, parse_events, reduce_events
from pyclient.core.eventlog import preferred_copy
from pyserver import open_storage
from pyserver.config import WriteLimits, write_limits
from pyserver.errors import ConfigError
from pyserver.routes import replaces_stored_copy
from pyserver.storage import Quota, QuotaExceeded, Storage, Usage
from pyserver.write_limits import WriteLimiter

from .conftest import LiveServer, auth
from .events import many, progressed, put_body

PROGRESS = "/api/v1/learning/progress"


def _rows(*ids: str, size: int = 0) -> list[tuple[str, str]]:
    return [(i, json.dumps({"eventId": i, "pad": "x" * size})) for i in ids]


def _by_length(new: str, stored: str) -> bool:
    """A stand-in preference for storage tests: the shorter text wins."""
    return len(new) < len(stored)


# --------------------------------------------------------------------------- quotas (storage)


def test_usage_counts_events_and_their_utf8_bytes(storage: Storage) -> None:
    rows = [("a", '{"t":"é"}'), ("b", '{"t":"x"}')]
    storage.append_events("u", rows)
    storage.append_events("u", rows)  # a repeat adds nothing
    assert storage.usage("u") == Usage(2, sum(len(body.encode()) for _, body in rows))
    assert storage.usage("nobody") == Usage(0, 0)


def test_an_append_over_the_event_quota_stores_nothing(storage: Storage) -> None:
    quota = Quota(events=5, bytes=10**9)
    storage.append_events("u", _rows("a", "b", "c"), quota=quota)
    with pytest.raises(QuotaExceeded) as refused:
        storage.append_events("u", _rows("d", "e", "f"), quota=quota)
    assert refused.value.usage == Usage(3, storage.usage("u").bytes)
    assert refused.value.added.events == 3
    assert [body for _, body in storage.read_events("u", 0, 100)] == [
        b for _, b in _rows("a", "b", "c")
    ]
    assert storage.last_position("u") == 3
    assert storage.append_events("u", _rows("d", "e"), quota=quota).stored == 2  # up to it
    # At the quota: a retry of stored events still succeeds (it adds nothing) ...
    assert storage.append_events("u", _rows("a", "e"), quota=quota).stored == 0
    # ... one more event does not, and another user is not affected.
    with pytest.raises(QuotaExceeded):
        storage.append_events("u", _rows("g"), quota=quota)
    assert storage.append_events("v", _rows("a", "b", "c", "d", "e"), quota=quota).stored == 5


def test_an_append_over_the_byte_quota_stores_nothing(storage: Storage) -> None:
    one = len(_rows("a", size=100)[0][1].encode())
    quota = Quota(events=1000, bytes=3 * one)
    storage.append_events("u", _rows("a", "b", size=100), quota=quota)
    with pytest.raises(QuotaExceeded):
        storage.append_events("u", _rows("c", "d", size=100), quota=quota)
    assert storage.usage("u") == Usage(2, 2 * one)
    storage.append_events("u", _rows("c", size=100), quota=quota)
    assert storage.usage("u") == Usage(3, 3 * one)


def test_concurrent_appends_never_take_a_user_past_the_quota(storage: Storage) -> None:
    quota = Quota(events=50, bytes=10**9)
    refused = []

    def append(worker: int) -> None:
        for batch in range(5):
            try:
                storage.append_events(
                    "u", _rows(*(f"w{worker}-{batch}-{i}" for i in range(3))), quota=quota
                )
            except QuotaExceeded:
                refused.append(worker)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = storage.read_events("u", 0, 1000)
    assert len(stored) == storage.usage("u").events == 48  # 16 whole batches of 3 fit in 50
    assert len(refused) == 40 - 16


def test_a_version_2_database_gains_usage_counted_from_its_events(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        from pyserver.storage import sqlite as backend

        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            with conn:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                for statement in backend.MIGRATIONS[0] + backend.MIGRATIONS[1]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (2)")
                conn.execute("INSERT INTO user_logs VALUES ('u', 2)")
                conn.execute("INSERT INTO events VALUES ('u', 1, 'a', '{\"t\":\"é\"}')")
                conn.execute("INSERT INTO events VALUES ('u', 2, 'b', '{}')")
        finally:
            conn.close()
    else:
        import psycopg

        from pyserver.storage import postgres as backend  # type: ignore[no-redef]

        with psycopg.connect(database_url, autocommit=True) as pg:
            pg.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            for statement in backend.MIGRATIONS[0] + backend.MIGRATIONS[1]:
                pg.execute(statement.encode())
            pg.execute("INSERT INTO schema_version (version) VALUES (2)")
            pg.execute("INSERT INTO user_logs VALUES ('u', 2)")
            pg.execute(
                "INSERT INTO events VALUES ('u', 1, 'a', '{\"t\":\"é\"}'), ('u', 2, 'b', '{}')"
            )
    storage = open_storage(database_url)
    try:
        assert storage.schema_version() == backend.SCHEMA_VERSION
        assert storage.usage("u") == Usage(2, len('{"t":"é"}'.encode()) + 2)
        assert storage.rewritten_at("u") == 0
        storage.append_events("u", _rows("c"))
        assert storage.last_position("u") == 3 and storage.usage("u").events == 3
    finally:
        storage.close()


# --------------------------------------------------------------------------- copies (storage)


def test_a_preferred_copy_replaces_the_stored_one_at_a_new_position(storage: Storage) -> None:
    storage.append_events("u", [("a", '{"copy":"long"}'), ("b", "{}")], replaces=_by_length)
    bytes_before = storage.usage("u").bytes
    result = storage.append_events("u", [("a", '{"c":1}')], replaces=_by_length)
    assert (result.stored, result.replaced, result.last_position) == (0, 1, 3)
    assert storage.read_events("u", 0, 10) == [(2, "{}"), (3, '{"c":1}')]
    assert storage.rewritten_at("u") == 3
    assert storage.usage("u") == Usage(2, bytes_before - len('{"copy":"long"}') + len('{"c":1}'))
    # The stored copy is preferred now: the other one changes nothing.
    again = storage.append_events("u", [("a", '{"copy":"long"}')], replaces=_by_length)
    assert (again.stored, again.replaced, again.last_position) == (0, 0, 3)
    assert storage.read_events("u", 0, 10) == [(2, "{}"), (3, '{"c":1}')]


def test_of_copies_in_one_request_the_preferred_one_is_stored(storage: Storage) -> None:
    rows = [("a", '{"copy":"long"}'), ("b", "{}"), ("a", '{"c":1}'), ("a", '{"copy":"longer"}')]
    storage.append_events("u", rows, replaces=_by_length)
    assert storage.read_events("u", 0, 10) == [(1, '{"c":1}'), (2, "{}")]


def test_without_a_rule_the_first_stored_copy_stays(storage: Storage) -> None:
    storage.append_events("u", [("a", '{"copy":"long"}')])
    storage.append_events("u", [("a", "{}")])
    assert storage.read_events("u", 0, 10) == [(1, '{"copy":"long"}')]
    assert storage.rewritten_at("u") == 0


# --------------------------------------------------------------------------- the API


def _limited(server: LiveServer, **limits: Any) -> None:
    server.app.state.api.write_limiter = WriteLimiter(WriteLimits(**limits))


def test_a_put_over_the_quota_is_a_403_envelope_and_stores_nothing(server: LiveServer) -> None:
    _limited(server, quota_events=5)
    ok = server.client.put(PROGRESS, json=put_body(many("q", 4)), headers=auth("learner"))
    assert ok.status_code == 200, ok.text
    over = server.client.put(PROGRESS, json=put_body(many("r", 2)), headers=auth("learner"))
    assert over.status_code == 403
    error = over.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["events"] == 4 and error["details"]["quotaEvents"] == 5
    assert error["details"]["addedEvents"] == 2
    held = server.client.get(PROGRESS, headers=auth("learner")).json()["data"]["events"]
    assert [e["eventId"] for e in held] == [e["eventId"] for e in many("q", 4)]
    # A retry of what is stored still succeeds; another learner is not affected.
    again = server.client.put(PROGRESS, json=put_body(many("q", 4)), headers=auth("learner"))
    assert again.status_code == 200
    other = server.client.put(PROGRESS, json=put_body(many("r", 5)), headers=auth("other"))
    assert other.status_code == 200


def test_the_put_rate_limit_is_a_429_with_retry_after_per_user(server: LiveServer) -> None:
    _limited(server, put_rate="3 per 30 seconds")
    body = put_body([progressed("e1")])
    answers = [server.client.put(PROGRESS, json=body, headers=auth("fast")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    assert server.client.put(PROGRESS, json=body, headers=auth("calm")).status_code == 200
    # GETs are not counted.
    assert server.client.get(PROGRESS, headers=auth("fast")).status_code == 200


def test_concurrent_puts_of_one_user_are_admitted_up_to_the_rate(server: LiveServer) -> None:
    _limited(server, put_rate="5 per 60 seconds")

    def put(i: int) -> int:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            body = put_body([progressed(f"c{i}")])
            return client.put(PROGRESS, json=body, headers=auth("burst")).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(put, range(20)))
    assert sorted(codes) == [200] * 5 + [429] * 15
    held = server.client.get(PROGRESS, headers=auth("burst")).json()["data"]["events"]
    assert len(held) == 5


def test_write_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert write_limits() == WriteLimits()
    monkeypatch.setenv("PYSERVER_QUOTA_EVENTS", "10")
    monkeypatch.setenv("PYSERVER_QUOTA_BYTES", "2048")
    monkeypatch.setenv("PYSERVER_PUT_RATE_LIMIT", "2 per second")
    assert write_limits() == WriteLimits(quota_events=10, quota_bytes=2048, put_rate="2 per second")
    monkeypatch.setenv("PYSERVER_PUT_RATE_LIMIT", "often")
    with pytest.raises(ConfigError):
        write_limits()
    monkeypatch.setenv("PYSERVER_PUT_RATE_LIMIT", "none")
    assert WriteLimiter(write_limits())._rate is None
    monkeypatch.setenv("PYSERVER_QUOTA_EVENTS", "-1")
    with pytest.raises(ConfigError):
        write_limits()


def _two_copies() -> tuple[dict[str, Any], dict[str, Any]]:
    """Two differing copies of one eventId, the one the clients keep first. The kept copy
    happened later (another clientId decides which sorts first), so a snapshot that reduced
    the other copy could wrongly fold it in as a later event."""
    other = progressed("twin", 10, "lesson-1", "completed", score=90)
    kept = {**progressed("twin", 30, "lesson-1", "in_progress", score=10), "clientId": "client-0"}
    parsed_kept, parsed_other = parse_events(json.dumps([kept, other]))
    assert preferred_copy(parsed_other, parsed_kept) is parsed_kept
    return kept, other


def test_the_server_applies_the_clients_rule_to_differing_copies() -> None:
    kept, other = _two_copies()
    assert replaces_stored_copy(json.dumps(kept), json.dumps(other))
    assert not replaces_stored_copy(json.dumps(other), json.dumps(kept))
    assert not replaces_stored_copy(json.dumps(kept), json.dumps(kept))


@pytest.mark.parametrize("order", ["kept first", "kept second"])
def test_differing_copies_leave_the_copy_the_clients_keep(server: LiveServer, order: str) -> None:
    kept, other = _two_copies()
    first, second = (kept, other) if order == "kept first" else (other, kept)
    headers = auth("twins")
    later = progressed("later", 20, "lesson-2", "completed")
    assert server.client.put(PROGRESS, json=put_body([first]), headers=headers).status_code == 200
    before = server.client.get(PROGRESS, headers=headers).json()["data"]  # caches a snapshot
    put = server.client.put(PROGRESS, json=put_body([second, later]), headers=headers)
    assert put.status_code == 200
    data = server.client.get(PROGRESS, headers=headers).json()["data"]
    assert {e["eventId"]: e for e in data["events"]}["twin"] == kept
    assert len(data["events"]) == 2
    expected = reduce_events(parse_events(json.dumps([kept, later])))
    assert canonical_json(data["snapshot"]) == canonical_json(expected)
    # A client that read before gets, from its cursor, what changed: the kept copy if it was
    # not the one it read.
    since = server.client.get(PROGRESS, params={"since": before["cursor"]}, headers=headers)
    got = [e["eventId"] for e in since.json()["data"]["events"]]
    assert got == (["later"] if order == "kept first" else ["twin", "later"])


def test_a_rate_limit_storage_that_cannot_be_used_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        WriteLimiter(WriteLimits(rate_storage="nosuchstore://here"))


def test_a_failing_rate_limit_storage_lets_puts_through(server: LiveServer) -> None:
    limiter = WriteLimiter(WriteLimits(put_rate="1 per minute"))

    def broken(*args: object) -> bool:
        raise ConnectionError("the shared store is down")

    limiter._limiter.hit = broken  # type: ignore[method-assign]
    server.app.state.api.write_limiter = limiter
    for _ in range(3):
        response = server.client.put(PROGRESS, json=put_body([]), headers=auth("through"))
        assert response.status_code == 200
