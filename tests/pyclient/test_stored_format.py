"""The compact stored format (version 2) of event logs and sync metadata (issue 5, point 5).

Laws: decoding gives back every event exactly (byte for byte in ``dump_events``, whatever its
type, ids or offset); older formats are read and migrated on the next write; writes still
union with what another tab stored; a broken or newer value is kept aside, never destroyed.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from pyclient import Event, canonical_json, dump_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.models import LearningProgressSyncEntry, LearningProgressSyncState
from pyclient.core.sync_state import (
    finish_sync_failure,
    finish_sync_success,
    mark_local,
    start_sync,
)
from pyclient.core.timestamps import format_instant
from pyclient.errors import StorageFullError
from pyclient.store.keys import GUEST_EVENTS_KEY, events_key, sync_key
from pyclient.store.local_store import LocalStore
from pyclient.store.log_format import LogText, decode_log, encode_log
from pyclient.store.sync_format import decode_sync, encode_sync

from .fakes import FakeClock

_EVENT: TypeAdapter[Event] = TypeAdapter(Event)

_IDS = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.text(min_size=1, max_size=12),
    st.sampled_from(["a", "0", "x-1"]),
)
_NAMES = st.one_of(
    st.sampled_from(["lesson-1", "quiz-1", "path-a", "v1", "a", "b"]),
    st.text(min_size=1, max_size=8),
)


@st.composite
def _stamps(draw: st.DrawFn) -> str:
    year = draw(st.sampled_from([1, 1969, 1970, 2025, 9999]))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute, second = (
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 59)),
    )
    fraction = draw(st.sampled_from([".000", ".595", ".999", "", ".5", ".123456789"]))
    offset = draw(st.sampled_from(["Z", "Z", "Z", "z", "+00:00", "-05:30", "+14:00"]))
    if year == 1 and offset == "+14:00":
        offset = "Z"  # 0001-01-01 before 14:00 at +14:00 is year 0 in UTC: not a timestamp
    sep = draw(st.sampled_from(["T", "T", "T", "t"]))
    clock = f"{hour:02d}:{minute:02d}:{second:02d}{fraction}{offset}"
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{clock}"


_SCORES = st.one_of(
    st.integers(0, 100), st.floats(0, 100, allow_nan=False), st.sampled_from([0.0, 100.0, 55.5])
)


@st.composite
def _payloads(draw: st.DrawFn, event_type: str) -> dict[str, Any] | None:
    if event_type == "content.progressed":
        payload: dict[str, Any] = {
            "contentId": draw(_NAMES),
            "status": draw(st.sampled_from(["not_started", "in_progress", "completed", "passed"])),
        }
        if draw(st.booleans()):
            payload["score"] = draw(_SCORES)
        if draw(st.booleans()):
            payload["contentVersion"] = draw(_NAMES)
        if draw(st.booleans()):
            state = draw(
                st.one_of(
                    st.none(),
                    st.builds(
                        lambda o: {"kind": "quiz", "selectedOptionId": o}, st.none() | _NAMES
                    ),
                )
            )
            payload["interaction"] = {"interactionId": draw(_NAMES), "state": state}
        return payload
    if event_type == "onboarding.completed":
        return {"pathId": draw(_NAMES)}
    if event_type == "activePath.set":
        return {"pathId": draw(st.none() | _NAMES)}
    if event_type in ("onboarding.reset", "progress.reset"):
        return None
    return draw(  # an unknown type from a newer client: any payload
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3)
    )


_TYPES = [
    "content.progressed",
    "content.progressed",
    "onboarding.completed",
    "onboarding.reset",
    "activePath.set",
    "progress.reset",
    "quiz.reviewed",
]


@st.composite
def events(draw: st.DrawFn) -> Event:
    event_type = draw(st.sampled_from(_TYPES))
    data: dict[str, Any] = {
        "eventId": draw(_IDS),
        "occurredAt": draw(_stamps()),
        "clientId": draw(_NAMES),
        "type": event_type,
    }
    payload = draw(_payloads(event_type))
    if payload is not None:
        data["payload"] = payload
    if event_type == "quiz.reviewed" and draw(st.booleans()):
        data["extra"] = {"nested": [1, 2.5, None]}
    return _EVENT.validate_python(data)


def _log(items: list[Event]) -> dict[str, Event]:
    return {e.event_id: e for e in items}


def _assert_identical(got: dict[str, Event], want: dict[str, Event]) -> None:
    assert set(got) == set(want)
    for event_id, event in want.items():
        assert dump_events([got[event_id]]) == dump_events([event])
        assert canonical_json(got[event_id]) == canonical_json(event)
        assert type(got[event_id]) is type(event)


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), max_size=25))
def test_decoding_gives_back_every_event_byte_for_byte(items: list[Event]) -> None:
    log = _log(items)
    raw = encode_log(log.values())
    decoded, problem = decode_log(raw)
    assert problem is None
    _assert_identical(decoded, log)
    assert encode_log(decoded.values()) == raw  # stable: re-encoding changes nothing


def _uuid_event(n: int, ms: int, **payload: Any) -> Event:
    stamp = f"2026-01-01T00:00:{ms // 1000:02d}.{ms % 1000:03d}Z"
    return _EVENT.validate_python(
        {
            "eventId": str(uuid.UUID(int=n)),
            "occurredAt": stamp,
            "clientId": "c",
            "type": "content.progressed",
            "payload": {"contentId": "lesson-1", "status": "completed", **payload},
        }
    )


def test_realistic_events_are_compact_and_the_rest_kept_verbatim() -> None:
    compact = [_uuid_event(n, 10 * n, score=n) for n in range(1, 4)]
    odd = _EVENT.validate_python(
        {
            "eventId": "not-a-uuid",
            "occurredAt": "2026-01-01T01:00:00+01:00",
            "clientId": "c",
            "type": "future.type",
            "whatever": [1],
        }
    )
    raw = encode_log([*compact, odd])
    data = json.loads(raw)
    assert data["v"] == 2 and data["strings"] == ["c", "lesson-1"]
    assert len(data["ids"]) == 64  # 3 UUIDs, 48 bytes, base64url
    assert data["times"] == "mjuohs0a,a,a"  # absolute ms, then deltas, base 36
    assert data["other"] == [json.loads(dump_events([odd]))[0]]
    _assert_identical(decode_log(raw)[0], _log([*compact, odd]))


def test_a_golden_version_2_log_decodes() -> None:
    raw = (
        '{"v":2,"strings":["c","lesson-1","quiz-1","b","path-1"],'
        '"ids":"AAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAI","times":"mjuohs0a,1",'
        '"rows":[22,0,1,90,2,4,32,0,4],"other":[]}'
    )
    decoded, problem = decode_log(raw)
    assert problem is None
    assert json.loads(dump_events(list(decoded.values()))) == [
        {
            "eventId": "00000000-0000-0000-0000-000000000001",
            "occurredAt": "2026-01-01T00:00:00.010Z",
            "clientId": "c",
            "type": "content.progressed",
            "payload": {
                "contentId": "lesson-1",
                "status": "completed",
                "score": 90,
                "interaction": {
                    "interactionId": "quiz-1",
                    "state": {"kind": "quiz", "selectedOptionId": "b"},
                },
            },
        },
        {
            "eventId": "00000000-0000-0000-0000-000000000002",
            "occurredAt": "2026-01-01T00:00:00.011Z",
            "clientId": "c",
            "type": "onboarding.completed",
            "payload": {"pathId": "path-1"},
        },
    ]


def _store(storage: MemoryStorage) -> LocalStore:
    return LocalStore(storage, FakeClock())


def test_a_version_1_log_is_read_and_migrated_to_version_2_on_the_next_write() -> None:
    storage = MemoryStorage()
    items = [_uuid_event(n, n) for n in range(1, 6)]
    storage.data[GUEST_EVENTS_KEY] = f'{{"v":1,"events":{dump_events(items)}}}'
    local = _store(storage)
    _assert_identical(local.read_events(None), _log(items))
    local.add_events(None, {}.values())
    assert json.loads(storage.data[GUEST_EVENTS_KEY])["v"] == 2
    assert not local.warnings
    _assert_identical(_store(storage).read_events(None), _log(items))


def test_writes_in_version_2_still_union_with_another_tab() -> None:
    storage = MemoryStorage()
    tab_a, tab_b = _store(storage), _store(storage)
    tab_a.add_events("u1", _log([_uuid_event(1, 1)]).values())
    merged = tab_b.add_events("u1", _log([_uuid_event(2, 2)]).values())
    assert len(merged) == 2
    again = tab_a.add_events("u1", _log([_uuid_event(3, 3)]).values())
    assert len(again) == 3
    assert set(_store(storage).read_events("u1")) == set(again)


def test_a_broken_version_2_log_is_kept_aside_and_its_verbatim_events_still_load() -> None:
    storage = MemoryStorage()
    odd = _EVENT.validate_python(
        {"eventId": "odd", "occurredAt": "2026-01-01T00:00:00Z", "clientId": "c", "type": "x"}
    )
    data = json.loads(encode_log([_uuid_event(1, 1), odd]))
    data["rows"] = data["rows"][:-1]  # truncated
    raw = json.dumps(data)
    storage.data[GUEST_EVENTS_KEY] = raw
    local = _store(storage)
    assert list(local.read_events(None)) == ["odd"]
    aside = [k for k in storage.data if k.startswith(GUEST_EVENTS_KEY + ":corrupt:")]
    assert [storage.data[k] for k in aside] == [raw]
    assert "version 2" in local.warnings[0]


def test_a_log_from_a_newer_format_is_kept_aside_not_destroyed() -> None:
    storage = MemoryStorage()
    raw = '{"v":3,"columns":"whatever"}'
    storage.data[events_key("u1")] = raw
    local = _store(storage)
    assert local.read_events("u1") == {}
    assert raw in [v for k, v in storage.data.items() if ":corrupt:" in k]
    assert "newer" in local.warnings[0]


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
    assert data["v"] == 2 and synced not in data["sync"]["events"]
    decoded, problem = decode_sync(raw)
    assert problem is None
    assert {i: e.status for i, e in decoded.events.items()} == {
        i: e.status for i, e in state.events.items()
    }
    assert decoded.events[str(uuid.UUID(int=8))] == state.events[str(uuid.UUID(int=8))]
    assert decoded.last_synced_cursor == "42"


def test_version_1_sync_metadata_is_read_and_newer_versions_kept_aside() -> None:
    storage = MemoryStorage()
    state = LearningProgressSyncState(events={"a": LearningProgressSyncEntry(status="local")})
    storage.data[sync_key("u1")] = f'{{"v":1,"sync":{state.model_dump_json(by_alias=True)}}}'
    local = _store(storage)
    assert local.read_sync("u1") == state
    local.write_sync("u1", state)
    assert json.loads(storage.data[sync_key("u1")])["v"] == 2
    storage.data[sync_key("u2")] = '{"v":7,"sync":{}}'
    assert local.read_sync("u2").events == {}
    assert '{"v":7,"sync":{}}' in [v for k, v in storage.data.items() if ":corrupt:" in k]
    assert "newer" in local.warnings[0]


# --------------------------------------------------------------------------- incremental writes
# A new local event sorts after every stored one; the store then appends its text to the parts
# of the last write instead of encoding the whole log (O(new events)). The laws: the text is
# byte-identical to encode_log of the same events, always, and every guarantee of the general
# path (union with another tab, quota) still holds.

_START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00.000Z


@st.composite
def _steps(draw: st.DrawFn) -> list[Event]:
    """A batch: events of any type and payload, mostly with UUID ids and client stamps after
    everything before (the fast path), sometimes earlier or not compact (the fallback)."""
    batch: list[Event] = []
    for _ in range(draw(st.integers(1, 3))):
        event = draw(events())
        kind = draw(st.sampled_from(["later", "later", "later", "later", "earlier", "as is"]))
        if kind != "as is":
            offset = draw(st.integers(0, 10**6) if kind == "later" else st.integers(-(10**9), 0))
            event = event.model_copy(
                update={
                    "event_id": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
                    "occurred_at": ("later", offset),  # resolved by the test
                }
            )
        batch.append(event)
    return batch


def _resolve(batch: list[Event], last_ms: int) -> tuple[list[Event], int]:
    out = []
    for event in batch:
        if isinstance(event.occurred_at, tuple):
            ms = (last_ms if event.occurred_at[1] >= 0 else _START_MS) + event.occurred_at[1]
            last_ms = max(last_ms, ms)
            event = event.model_copy(update={"occurred_at": format_instant(ms * 1000)})
        out.append(event)
    return out, last_ms


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), max_size=8), st.lists(_steps(), max_size=12))
def test_appending_to_the_encoded_parts_gives_the_text_of_a_full_encode(
    first: list[Event], steps: list[list[Event]]
) -> None:
    log = _log(first)
    text = LogText.of(log.values())
    assert text.text() == encode_log(log.values())
    last_ms = _START_MS
    appended = 0
    for raw_batch in steps:
        batch, last_ms = _resolve(raw_batch, last_ms)
        new = [e for e in _log(batch).values() if e.event_id not in log]
        log.update((e.event_id, e) for e in new)
        if text.extend(new):
            appended += 1
        else:
            text = LogText.of(log.values())
        assert text.text() == encode_log(log.values())
    decoded, problem = decode_log(text.text())
    assert problem is None
    _assert_identical(decoded, log)


@settings(max_examples=150, deadline=None)
@given(st.lists(_steps(), min_size=1, max_size=15), st.lists(st.integers(0, 3), max_size=15))
def test_store_writes_stay_byte_identical_and_union_with_another_tab(
    steps: list[list[Event]], actions: list[int]
) -> None:
    """Two tabs, as the engine drives them: each keeps its log in memory (new events at the
    end) and writes all of it; sometimes the other tab writes in between, or storage is full."""
    storage = MemoryStorage()
    tabs = [_store(storage), _store(storage)]
    memory: list[dict[str, Event]] = [{}, {}]
    written: dict[str, Event] = {}
    last_ms = _START_MS
    for i, raw_batch in enumerate(steps):
        batch, last_ms = _resolve(raw_batch, last_ms)
        action = actions[i] if i < len(actions) else 0
        tab = 1 if action == 1 else 0
        mine = memory[tab]
        for event in batch:
            mine.setdefault(event.event_id, event)
        before = dict(storage.data)
        if action == 3:  # full: the write raises and changes nothing; the next one persists
            storage.quota = 1
            with contextlib.suppress(StorageFullError):  # raises unless nothing is new
                tabs[tab].add_events(None, mine.values())
            assert storage.data == before
            storage.quota = None
        stored = tabs[tab].add_events(None, mine.values())
        written.update((k, v) for k, v in mine.items() if k not in written)
        mine.update((k, v) for k, v in stored.items() if k not in mine)
        raw = storage.data[GUEST_EVENTS_KEY]
        decoded, problem = decode_log(raw)
        assert problem is None
        assert set(decoded) == set(written) == set(stored)  # nothing lost, whatever the tab
        assert raw == encode_log(decoded.values())


def test_a_replaced_copy_inside_the_log_is_not_missed_by_the_fast_path() -> None:
    storage = MemoryStorage()
    local = _store(storage)
    first, second = _uuid_event(1, 10), _uuid_event(2, 20)
    local.add_events(None, _log([first, second]).values())
    smaller = first.model_copy(update={"client_id": "a"})  # canonically smaller: it wins
    assert canonical_json(smaller) < canonical_json(first)
    stored = local.add_events(None, _log([smaller, second, _uuid_event(3, 30)]).values())
    assert stored[first.event_id].client_id == "a"
    assert decode_log(storage.data[GUEST_EVENTS_KEY])[0][first.event_id].client_id == "a"
    assert storage.data[GUEST_EVENTS_KEY] == encode_log(stored.values())


def test_the_fast_path_sees_another_tab_write_and_unions() -> None:
    storage = MemoryStorage()
    tab_a, tab_b = _store(storage), _store(storage)
    mine = _log([_uuid_event(1, 10)])
    tab_a.add_events(None, mine.values())
    tab_b.add_events(None, _log([_uuid_event(2, 5)]).values())  # earlier: not an append either
    mine[str(uuid.UUID(int=3))] = _uuid_event(3, 30)
    stored = tab_a.add_events(None, mine.values())
    assert set(stored) == {str(uuid.UUID(int=n)) for n in (1, 2, 3)}
    assert storage.data[GUEST_EVENTS_KEY] == encode_log(stored.values())


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
    local = _store(storage)
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
        decoded, problem = decode_sync(raw)
        assert problem is None
        assert decoded == decode_sync(encode_sync(state))[0]
