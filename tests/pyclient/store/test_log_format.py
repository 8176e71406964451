"""The stored event log (version 2, compact and columnar): decoding gives back every event
exactly (byte for byte in ``dump_events``, whatever its type, ids or offset); older versions
are read and migrated on the next write; a broken or newer value is kept aside, never
destroyed; appending to the encoded parts always gives the text of a full encode."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient import Event, dump_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.store import log_format
from pyclient.store.keys import GUEST_EVENTS_KEY, events_key
from pyclient.store.log_format import LogText, decode_log, encode_log
from pyclient.store.packed_ids import PackedIds, pack_dense, unpack_dense
from pyclient.store.segments import decode_head, encode_head

from .log_strategies import (
    EVENT,
    START_MS,
    appends,
    assert_identical,
    events,
    head_text,
    log_of,
    resolve,
    store_on,
    uuid_event,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), max_size=25))
def test_decoding_gives_back_every_event_byte_for_byte(items: list[Event]) -> None:
    log = log_of(items)
    raw = encode_log(log.values())
    decoded, problem = decode_log(raw)
    assert problem is None
    assert_identical(decoded, log)
    assert encode_log(decoded.values()) == raw  # stable: re-encoding changes nothing


def test_realistic_events_are_compact_and_the_rest_kept_verbatim() -> None:
    compact = [uuid_event(n, 10 * n, score=n) for n in range(1, 4)]
    odd = EVENT.validate_python(
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
    assert_identical(decode_log(raw)[0], log_of([*compact, odd]))


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


def test_a_version_1_log_is_read_and_migrated_to_version_3_on_the_next_write() -> None:
    storage = MemoryStorage()
    items = [uuid_event(n, n) for n in range(1, 6)]
    storage.data[GUEST_EVENTS_KEY] = f'{{"v":1,"events":{dump_events(items)}}}'
    local = store_on(storage)
    assert_identical(local.read_events(None), log_of(items))
    local.add_events(None, {}.values())
    assert json.loads(storage.data[GUEST_EVENTS_KEY])["v"] == 3
    assert not local.warnings
    assert_identical(store_on(storage).read_events(None), log_of(items))


def test_writes_still_union_with_another_tab() -> None:
    storage = MemoryStorage()
    tab_a, tab_b = store_on(storage), store_on(storage)
    tab_a.add_events("u1", log_of([uuid_event(1, 1)]).values())
    assert len(tab_b.add_events("u1", log_of([uuid_event(2, 2)]).values())) == 1
    assert len(tab_a.add_events("u1", log_of([uuid_event(3, 3)]).values())) == 1
    assert len(store_on(storage).read_events("u1")) == 3


def test_a_broken_version_2_log_is_kept_aside_and_its_verbatim_events_still_load() -> None:
    storage = MemoryStorage()
    odd = EVENT.validate_python(
        {"eventId": "odd", "occurredAt": "2026-01-01T00:00:00Z", "clientId": "c", "type": "x"}
    )
    data = json.loads(encode_log([uuid_event(1, 1), odd]))
    data["rows"] = data["rows"][:-1]  # truncated
    raw = json.dumps(data)
    storage.data[GUEST_EVENTS_KEY] = raw
    local = store_on(storage)
    assert list(local.read_events(None)) == ["odd"]
    aside = [k for k in storage.data if k.startswith(GUEST_EVENTS_KEY + ":corrupt:")]
    assert [storage.data[k] for k in aside] == [raw]
    assert "not a valid log" in local.warnings[0]


def test_a_log_from_a_newer_format_is_kept_aside_not_destroyed() -> None:
    storage = MemoryStorage()
    raw = '{"v":4,"columns":"whatever"}'
    storage.data[events_key("u1")] = raw
    local = store_on(storage)
    assert local.read_events("u1") == {}
    assert raw in [v for k, v in storage.data.items() if ":corrupt:" in k]
    assert "newer" in local.warnings[0]


# --------------------------------------------------------------------------- incremental writes
# A new local event sorts after every stored one; the store then appends its text to the parts
# of the last write instead of encoding the whole log (O(new events)). The laws: the text is
# byte-identical to encode_log of the same events, always, and every guarantee of the general
# path (union with another tab, quota) still holds.


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), max_size=8), st.lists(appends(), max_size=12))
def test_appending_to_the_encoded_parts_gives_the_text_of_a_full_encode(
    first: list[Event], steps: list[list[Event]]
) -> None:
    log = log_of(first)
    text = LogText.of(log.values())
    assert encode_head([], text) == head_text(log.values())
    last_ms = START_MS
    appended = 0
    for raw_batch in steps:
        batch, last_ms = resolve(raw_batch, last_ms)
        new = [e for e in log_of(batch).values() if e.event_id not in log]
        log.update((e.event_id, e) for e in new)
        if text.extend(new):
            appended += 1
        else:
            text = LogText.of(log.values())
        assert encode_head([], text) == head_text(log.values())
    head = decode_head(encode_head([], text))
    decoded, problem = head.events, head.problem
    assert problem is None
    assert_identical(decoded, log)


@settings(max_examples=150, deadline=None)
@given(st.lists(events(), max_size=12), st.integers(1, 4))
def test_encoding_in_steps_gives_the_text_of_a_full_encode(
    batch: list[Event], per_step: int
) -> None:
    log = log_of(batch)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(log_format, "EVENTS_PER_STEP", per_step)
        steps = LogText.of_steps(log.values())
        taken = 0
        while True:
            try:
                next(steps)
                taken += 1
            except StopIteration as done:
                text = done.value
                break
    assert encode_head([], text) == head_text(log.values())
    compact, _ = log_format._partition(log.values())
    assert taken == 1 + -(-len(compact) // per_step)  # sorting, then per_step events a step


@settings(max_examples=200, deadline=None)
@given(st.lists(st.uuids().map(str), max_size=20))
def test_dense_ids_are_nine_units_each_and_read_back(ids: list[str]) -> None:
    text = pack_dense(ids)
    assert len(text) == 9 * len(ids)
    assert all(0x3400 <= ord(c) <= 0xB3FF for c in text)  # no surrogate, control or quote
    assert json.loads(json.dumps(text, ensure_ascii=False)) == text
    assert unpack_dense(text) == ids
    for start in range(0, len(ids) + 1, 4):
        assert unpack_dense(text, start, start + 4) == ids[start : start + 4]
    packed = PackedIds()
    for n in range(0, len(ids), 3):
        packed.extend(ids[n : n + 3])
    assert packed.text == text and packed.count == len(ids)


@pytest.mark.parametrize("text", ["\u3400" * 8, "a" * 9, "\ub3ff" * 9])
def test_a_value_that_is_not_dense_ids_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        unpack_dense(text)
