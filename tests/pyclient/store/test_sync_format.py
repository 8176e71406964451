"""Stored sync metadata (version 2): synced UUID entries kept as an id set, older versions
read, newer ones kept aside, and the incremental encoder always equal to a full encode."""

from __future__ import annotations

import json
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.models import LearningProgressSyncEntry, LearningProgressSyncState
from pyclient.core.sync_state import (
    finish_sync_failure,
    finish_sync_success,
    mark_local,
    start_sync,
)
from pyclient.store.keys import sync_key
from pyclient.store.sync_format import decode_sync, encode_sync

from .log_strategies import (
    store_on,
)


def test_sync_metadata_keeps_synced_uuid_entries_as_an_id_set() -> None:
    synced = str(uuid.UUID(int=7))
    state = LearningProgressSyncState(
        events={
            synced: LearningProgressSyncEntry(
                status="synced", last_attempt_at="2026-01-01T00:00:00.000Z"
            ),
            "plain-id": LearningProgressSyncEntry(status="synced"),
            str(uuid.UUID(int=8)): LearningProgressSyncEntry(status="error", retry_count=2),
        },
        last_successful_sync_at="2026-01-01T00:00:01.000Z",
        last_synced_cursor="42",
    )
    raw = encode_sync(state)
    data = json.loads(raw)
    assert data["v"] == 3 and synced not in data["sync"]["events"]
    decoded, segments, problem = decode_sync(raw)
    assert segments == []
    assert problem is None
    assert {i: e.status for i, e in decoded.events.items()} == {
        i: e.status for i, e in state.events.items()
    }
    assert decoded.events[str(uuid.UUID(int=8))] == state.events[str(uuid.UUID(int=8))]
    assert decoded.last_synced_cursor == "42"


def test_versions_1_and_2_sync_metadata_are_read_and_newer_versions_kept_aside() -> None:
    storage = MemoryStorage()
    state = LearningProgressSyncState(events={"a": LearningProgressSyncEntry(status="local")})
    storage.data[sync_key("u1")] = f'{{"v":1,"sync":{state.model_dump_json(by_alias=True)}}}'
    local = store_on(storage)
    assert local.read_sync("u1") == state
    local.write_sync("u1", state)
    assert json.loads(storage.data[sync_key("u1")])["v"] == 3
    v2 = '{"v":2,"sync":{"events":{"b":{"status":"local"}}},"synced":""}'
    storage.data[sync_key("u3")] = v2
    assert set(store_on(storage).read_sync("u3").events) == {"b"}
    storage.data[sync_key("u2")] = '{"v":7,"sync":{}}'
    assert local.read_sync("u2").events == {}
    assert '{"v":7,"sync":{}}' in [v for k, v in storage.data.items() if ":corrupt:" in k]
    assert "newer" in local.warnings[0]


@st.composite
def _sync_ops(draw: st.DrawFn) -> tuple[str, list[int]]:
    op = draw(st.sampled_from(["local", "local", "local", "sync", "fail", "drop", "plain"]))
    return op, draw(st.lists(st.integers(0, 40), min_size=1, max_size=4))


@settings(max_examples=200, deadline=None)
@given(st.lists(_sync_ops(), max_size=20))
def test_incremental_sync_metadata_is_the_text_of_a_full_encode(
    ops: list[tuple[str, list[int]]],
) -> None:
    storage = MemoryStorage()
    local = store_on(storage)
    state = LearningProgressSyncState()
    for op, numbers in ops:
        ids = [str(uuid.UUID(int=n)) for n in numbers]
        if op == "local":
            state = mark_local(state, ids)
        elif op == "plain":
            state = mark_local(state, [f"plain-{n}" for n in numbers])
        elif op == "sync":
            state, sent = start_sync(state, "2026-01-01T00:00:00.000Z")
            state = finish_sync_success(state, sent[: len(numbers)], "2026-01-01T00:00:01.000Z")
        elif op == "fail":
            state, sent = start_sync(state, "2026-01-01T00:00:00.000Z")
            state = finish_sync_failure(state, sent, "2026-01-01T00:00:01.000Z", "boom")
        else:
            kept = {k: v for k, v in state.events.items() if k not in ids}
            state = state.model_copy(update={"events": kept})
            storage.data.pop(sync_key("u1"), None)  # dropped entries: only a fresh store
        state = local.write_sync("u1", state)
        raw = storage.data[sync_key("u1")]
        assert raw == encode_sync(state)
        decoded, _, problem = decode_sync(raw)
        assert problem is None
        assert decoded == decode_sync(encode_sync(state))[0]
