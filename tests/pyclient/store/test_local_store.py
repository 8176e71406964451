"""Local storage of logs, snapshots and sync metadata (spec §4.4, DESIGN §5)."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient import Event, canonical_json, reduce_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.models import LearningProgressSyncEntry, LearningProgressSyncState
from pyclient.core.sync_state import mark_local
from pyclient.errors import StorageFullError
from pyclient.store.keys import CLIENT_ID_KEY, GUEST_EVENTS_KEY, events_key, snapshot_key, sync_key
from pyclient.store.local_store import LocalStore
from pyclient.store.sync_format import merge_sync_states

from ..builders import at, progressed
from ..fakes import FakeClock
from .log_strategies import START_MS, appends, head_text, log_of, resolve, store_on, uuid_event


def store(storage: MemoryStorage | None = None) -> tuple[LocalStore, MemoryStorage]:
    storage = storage if storage is not None else MemoryStorage()
    return LocalStore(storage, FakeClock()), storage


def test_keys_are_the_spec_keys() -> None:
    assert events_key(None) == "learning_progress_events"
    assert snapshot_key(None) == "learning_progress_snapshot"
    assert events_key("u1") == "learning_progress_events:u1"
    assert snapshot_key("u1") == "learning_progress_snapshot:u1"
    assert sync_key("u1") == "learning_progress_sync:u1"
    assert CLIENT_ID_KEY == "learning_progress_client_id"


def test_every_stored_value_carries_a_format_version() -> None:
    local, storage = store()
    local.add_events("u1", {"a": progressed("a", at(1), "x", "completed")}.values())
    local.write_snapshot("u1", reduce_events([]))
    local.write_sync("u1", LearningProgressSyncState())
    local.client_id(lambda: "client-1")
    versions = {key: json.loads(value)["v"] for key, value in storage.data.items()}
    assert versions == {
        events_key("u1"): 3,
        snapshot_key("u1"): 1,  # read by the page's first paint without Python
        sync_key("u1"): 3,
        CLIENT_ID_KEY: 1,
    }


def test_a_write_unions_with_what_another_tab_stored() -> None:
    storage = MemoryStorage()
    tab_a, _ = store(storage)
    tab_b, _ = store(storage)
    tab_a.add_events(None, {"a": progressed("a", at(1), "x", "completed")}.values())
    news = tab_b.add_events(None, {"b": progressed("b", at(2), "y", "completed")}.values())
    assert set(news) == {"a"}  # what the other tab stored, new to this one
    assert set(tab_a.read_events(None)) == {"a", "b"}


def test_a_bare_array_from_before_versions_is_read_and_rewritten_as_v3() -> None:
    local, storage = store()
    event = progressed("a", at(1), "x", "completed")
    storage.data[GUEST_EVENTS_KEY] = json.dumps([event.model_dump(mode="json")])
    assert list(local.read_events(None)) == ["a"]
    assert not any(":corrupt:" in k for k in storage.data)
    local.add_events(None, {}.values())
    assert json.loads(storage.data[GUEST_EVENTS_KEY])["v"] == 3
    assert list(store(storage)[0].read_events(None)) == ["a"]


@pytest.mark.parametrize(
    "raw",
    ["{oops", '{"v": 1, "events": 5}', '"text"', '{"v": 9, "events": []}'],
)
def test_a_corrupt_log_is_kept_aside_and_reported(raw: str) -> None:
    local, storage = store()
    storage.data[GUEST_EVENTS_KEY] = raw
    assert local.read_events(None) == {}
    aside = [k for k in storage.data if k.startswith(GUEST_EVENTS_KEY + ":corrupt:")]
    assert len(aside) == 1 and storage.data[aside[0]] == raw
    assert local.warnings and aside[0] in local.warnings[0]
    local.read_events(None)
    assert len([k for k in storage.data if ":corrupt:" in k]) == 1  # not set aside twice


def test_valid_events_of_a_partly_invalid_array_still_load() -> None:
    local, storage = store()
    good = progressed("a", at(1), "x", "completed").model_dump(mode="json", by_alias=True)
    raw = json.dumps({"v": 1, "events": [good, {"eventId": "bad"}]})
    storage.data[GUEST_EVENTS_KEY] = raw
    assert list(local.read_events(None)) == ["a"]
    assert raw in storage.data.values()
    assert "1 of 2" in local.warnings[0]


def test_a_full_storage_raises_and_changes_nothing() -> None:
    local, storage = store()
    local.add_events(None, {"a": progressed("a", at(1), "x", "completed")}.values())
    before = dict(storage.data)
    storage.quota = 1
    with pytest.raises(StorageFullError):
        local.add_events(None, {"b": progressed("b", at(2), "x", "completed")}.values())
    assert storage.data == before


def test_corrupt_sync_metadata_keeps_its_valid_entries() -> None:
    local, storage = store()
    raw = json.dumps(
        {"v": 1, "sync": {"events": {"a": {"status": "synced"}, "b": {"status": "??"}}, "x": 1}}
    )
    storage.data[sync_key("u1")] = raw
    state = local.read_sync("u1")
    assert set(state.events) == {"a"}
    assert raw in storage.data.values()


def test_sync_metadata_merges_synced_wins_and_stored_entries_are_kept() -> None:
    mine = mark_local(LearningProgressSyncState(), ["a", "b"])
    stored = LearningProgressSyncState(
        events={
            "a": LearningProgressSyncEntry(status="synced"),
            "c": LearningProgressSyncEntry(status="local"),
        },
        last_synced_cursor="9",
    )
    merged = merge_sync_states(mine, stored)
    assert {i: e.status for i, e in merged.events.items()} == {
        "a": "synced",
        "b": "local",
        "c": "local",
    }
    assert merged.last_synced_cursor == "9"


def test_the_client_id_is_created_once() -> None:
    local, storage = store()
    assert local.client_id(lambda: "one") == "one"
    assert local.client_id(lambda: "two") == "one"
    storage.data[CLIENT_ID_KEY] = "legacy-id"
    assert local.client_id(lambda: "three") == "legacy-id"


def test_a_new_event_after_the_log_is_appended_not_the_whole_log_re_encoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The record path costs O(new events) when no other tab wrote: the store sees from its
    own state that the stored value is the one it wrote, and appends to its encoded text."""
    from pyclient.store import log_format

    local, storage = store()
    first = [progressed(f"{n:08x}-0000-4000-8000-000000000000", at(n), "x", "completed")
             for n in range(1, 4)]  # fmt: skip
    log = {e.event_id: e for e in first}
    local.add_events(None, log.values())

    def full_encode(*_: object) -> None:
        raise AssertionError("the whole log was encoded again")

    monkeypatch.setattr(log_format.LogText, "of", full_encode)
    new = progressed("00000009-0000-4000-8000-000000000000", at(9), "y", "passed")
    log[new.event_id] = new
    assert local.add_events(None, [new]) == {}  # no other tab wrote
    monkeypatch.undo()
    assert storage.data[GUEST_EVENTS_KEY] == head_text(log.values())


def test_a_head_read_by_another_store_is_appended_to_once_its_encoder_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a load, the head's encoder is built in steps (the engine does it after ready):
    the next write appends to it rather than encoding the whole head in one long task. A
    write meanwhile wins: the encoder built from the head it replaced is dropped."""
    from pyclient.store import log_format

    writer, storage = store()
    first = [progressed(f"{n:08x}-0000-4000-8000-000000000000", at(1, minute=n), "x", "completed")
             for n in range(1, 40)]  # fmt: skip
    log = {e.event_id: e for e in first}
    writer.add_events(None, log.values())
    reader = store_on(storage)
    assert reader.read_head(None) == log
    monkeypatch.setattr(log_format, "EVENTS_PER_STEP", 8)
    assert sum(1 for _ in reader.prime_head_steps(None)) == 6  # sorting, then 39 events 8 a step

    def full_encode(*_: object) -> None:
        raise AssertionError("the whole log was encoded again")

    monkeypatch.setattr(log_format.LogText, "of", full_encode)
    new = progressed("00000099-0000-4000-8000-000000000000", at(2), "y", "passed")
    log[new.event_id] = new
    assert reader.add_events(None, [new]) == {}
    monkeypatch.undo()
    assert storage.data[GUEST_EVENTS_KEY] == head_text(log.values())

    late = store_on(storage)
    late.read_head(None)
    monkeypatch.setattr(log_format, "EVENTS_PER_STEP", 8)
    steps = late.prime_head_steps(None)
    next(steps)
    newer = progressed("000000a0-0000-4000-8000-000000000000", at(3), "z", "passed")
    late.add_events(None, [newer])  # written meanwhile: encoded whole
    log[newer.event_id] = newer
    assert list(steps) == [None] * 5  # the rest of the steps, then dropped
    last = progressed("000000a1-0000-4000-8000-000000000000", at(4), "z", "passed")
    late.add_events(None, [last])
    log[last.event_id] = last
    assert storage.data[GUEST_EVENTS_KEY] == head_text(log.values())


@settings(max_examples=150, deadline=None)
@given(st.lists(appends(), min_size=1, max_size=15), st.lists(st.integers(0, 3), max_size=15))
def test_store_writes_stay_byte_identical_and_union_with_another_tab(
    steps: list[list[Event]], actions: list[int]
) -> None:
    """Two tabs, as the engine drives them: each keeps its log in memory (new events at the
    end) and writes all of it; sometimes the other tab writes in between, or storage is full."""
    storage = MemoryStorage()
    tabs = [store_on(storage), store_on(storage)]
    memory: list[dict[str, Event]] = [{}, {}]
    written: dict[str, Event] = {}
    last_ms = START_MS
    for i, raw_batch in enumerate(steps):
        batch, last_ms = resolve(raw_batch, last_ms)
        action = actions[i] if i < len(actions) else 0
        tab = 1 if action == 1 else 0
        mine = memory[tab]
        for event in batch:
            mine.setdefault(event.event_id, event)
        before = dict(storage.data)
        news: dict[str, Event] = {}
        if action == 3:  # full: the write raises and changes nothing; the next one persists
            storage.quota = 1
            with contextlib.suppress(StorageFullError):  # raises unless nothing is new
                news = tabs[tab].add_events(None, mine.values())
            assert storage.data == before
            storage.quota = None
        news = {**news, **tabs[tab].add_events(None, mine.values())}
        written.update((k, v) for k, v in mine.items() if k not in written)
        mine.update((k, v) for k, v in news.items() if k not in mine)
        raw = storage.data[GUEST_EVENTS_KEY]
        decoded = store_on(storage).read_events(None)
        assert set(news) <= set(decoded)  # what the other tab stored
        assert set(decoded) == set(written) == set(mine)  # nothing lost, whatever the tab
        assert raw == head_text(decoded.values())


def test_a_replaced_copy_inside_the_log_is_not_missed_by_the_fast_path() -> None:
    storage = MemoryStorage()
    local = store_on(storage)
    first, second = uuid_event(1, 10), uuid_event(2, 20)
    local.add_events(None, log_of([first, second]).values())
    smaller = first.model_copy(update={"client_id": "a"})  # canonically smaller: it wins
    assert canonical_json(smaller) < canonical_json(first)
    local.add_events(None, log_of([smaller, second, uuid_event(3, 30)]).values())
    stored = store_on(storage).read_events(None)
    assert stored[first.event_id].client_id == "a"
    assert storage.data[GUEST_EVENTS_KEY] == head_text(stored.values())


def test_the_fast_path_sees_another_tab_write_and_unions() -> None:
    storage = MemoryStorage()
    tab_a, tab_b = store_on(storage), store_on(storage)
    mine = log_of([uuid_event(1, 10)])
    tab_a.add_events(None, mine.values())
    tab_b.add_events(None, log_of([uuid_event(2, 5)]).values())  # earlier: not an append either
    mine[str(uuid.UUID(int=3))] = uuid_event(3, 30)
    assert set(tab_a.add_events(None, mine.values())) == {str(uuid.UUID(int=2))}
    stored = store_on(storage).read_events(None)
    assert set(stored) == {str(uuid.UUID(int=n)) for n in (1, 2, 3)}
    assert storage.data[GUEST_EVENTS_KEY] == head_text(stored.values())


def test_the_smaller_copy_stays_stored_when_a_larger_one_is_written_after_it() -> None:
    """Of two differing copies the store keeps the canonically smaller, not the last written:
    in the same store (its append path) and in another tab's (its general path)."""
    smaller = uuid_event(1, 10)
    larger = smaller.model_copy(update={"client_id": "z"})
    assert canonical_json(smaller) < canonical_json(larger)
    storage = MemoryStorage()
    tab_a, tab_b = store_on(storage), store_on(storage)
    tab_a.add_events(None, [smaller])
    tab_a.add_events(None, [larger])
    tab_b.add_events(None, [larger, uuid_event(2, 20)])
    for reader in (tab_a, tab_b, store_on(storage)):
        assert reader.read_events(None)[smaller.event_id] == smaller
    assert storage.data[GUEST_EVENTS_KEY] == head_text([smaller, uuid_event(2, 20)])
