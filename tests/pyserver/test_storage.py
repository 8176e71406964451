"""The storage contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from pyserver import open_storage
from pyserver.storage import EmailTaken, Storage, StoredSnapshot


def _events(*ids: str) -> list[tuple[str, str]]:
    return [(i, f'{{"eventId":"{i}"}}') for i in ids]


def test_new_events_take_consecutive_positions_in_request_order(storage: Storage) -> None:
    result = storage.append_events("u", _events("c", "a", "b"))
    assert (result.stored, result.last_position) == (3, 3)
    rows = storage.read_events("u", 0, 10)
    assert [p for p, _ in rows] == [1, 2, 3]
    assert [b for _, b in rows] == [b for _, b in _events("c", "a", "b")]


def test_known_event_ids_are_skipped_not_stored_twice(storage: Storage) -> None:
    storage.append_events("u", _events("a", "b"))
    result = storage.append_events("u", _events("b", "c", "c", "a", "d"))
    assert (result.stored, result.last_position) == (2, 4)
    assert [b for _, b in storage.read_events("u", 0, 10)] == [
        b for _, b in _events("a", "b", "c", "d")
    ]


def test_an_all_duplicate_append_changes_nothing(storage: Storage) -> None:
    storage.append_events("u", _events("a"))
    result = storage.append_events("u", _events("a", "a"))
    assert (result.stored, result.last_position) == (0, 1)
    assert storage.last_position("u") == 1


def test_the_first_copy_of_an_event_is_kept(storage: Storage) -> None:
    storage.append_events("u", [("a", '{"v":1}')])
    storage.append_events("u", [("a", '{"v":2}')])
    assert storage.read_events("u", 0, 10) == [(1, '{"v":1}')]


def test_users_are_isolated_even_with_the_same_event_ids(storage: Storage) -> None:
    storage.append_events("alice", [("e", "alice")])
    storage.append_events("bob", [("e", "bob")])
    assert storage.read_events("alice", 0, 10) == [(1, "alice")]
    assert storage.read_events("bob", 0, 10) == [(1, "bob")]
    assert storage.last_position("carol") == 0
    assert storage.read_events("carol", 0, 10) == []


def test_reading_pages_by_position(storage: Storage) -> None:
    storage.append_events("u", _events(*(f"e{i}" for i in range(25))))
    assert [p for p, _ in storage.read_events("u", 10, 5)] == [11, 12, 13, 14, 15]
    assert [p for p, _ in storage.read_events("u", 10, 100, upto=12)] == [11, 12]
    assert storage.read_events("u", 25, 5) == []


def test_concurrent_appends_never_lose_or_reuse_a_position(storage: Storage) -> None:
    def write(worker: int) -> None:
        for batch in range(10):
            storage.append_events("u", _events(*(f"w{worker}-{batch}-{i}" for i in range(5))))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = storage.read_events("u", 0, 1000)
    assert [p for p, _ in rows] == list(range(1, 301))
    assert len({b for _, b in rows}) == 300


def test_a_snapshot_is_replaced_only_by_a_later_one(storage: Storage) -> None:
    assert storage.load_snapshot("u") is None
    storage.save_snapshot("u", StoredSnapshot(5, "five", 50, "e5"))
    storage.save_snapshot("u", StoredSnapshot(3, "three", 30, "e3"))
    assert storage.load_snapshot("u") == StoredSnapshot(5, "five", 50, "e5")
    storage.save_snapshot("u", StoredSnapshot(7, "seven", 70, "e7"))
    assert storage.load_snapshot("u") == StoredSnapshot(7, "seven", 70, "e7")


def test_users_are_found_by_email_and_emails_are_unique(storage: Storage) -> None:
    storage.create_user("id-1", "a@example.com", "hash")
    user = storage.find_user("a@example.com")
    assert user is not None
    assert (user.user_id, user.password_hash) == ("id-1", "hash")
    assert storage.find_user("b@example.com") is None
    with pytest.raises(EmailTaken):
        storage.create_user("id-2", "a@example.com", "other")


def test_the_schema_is_versioned_and_reopening_does_not_migrate_again(
    storage: Storage, database_url: str
) -> None:
    version = storage.schema_version()
    assert version >= 1
    storage.append_events("u", _events("a"))
    again = open_storage(database_url)
    try:
        assert again.schema_version() == version
        assert again.last_position("u") == 1
    finally:
        again.close()
    storage.ping()


def test_the_largest_events_take_less_than_twice_their_size_in_sqlite(tmp_path: Path) -> None:
    """Rows of about 1 KB once spilled into an overflow page each (4.8x their size)."""
    url = f"sqlite:///{tmp_path / 'big.sqlite3'}"
    store = open_storage(url)
    pad = "x" * 119
    rows = []
    for i in range(3000):
        body = json.dumps(
            {"eventId": f"{i:09d}{pad}", "clientId": f"c{pad}", "type": "content.progressed",
             "payload": {"contentId": f"k{i % 500:08d}{pad}", "contentVersion": f"v{pad}",
                         "interaction": {"interactionId": f"q{pad}",
                                         "state": {"selectedOptionId": f"o{pad}"}}}},
            separators=(",", ":"),
        )  # fmt: skip
        rows.append((f"{i:09d}{pad}", body))
    for start in range(0, len(rows), 500):
        store.append_events("u", rows[start : start + 500])
    store.close()
    conn = sqlite3.connect(tmp_path / "big.sqlite3")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    size = (tmp_path / "big.sqlite3").stat().st_size
    payload = sum(len(body) for _, body in rows)
    assert payload / len(rows) > 900
    assert size < 2 * payload, size / payload
