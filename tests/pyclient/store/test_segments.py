"""The stored log in segments (DESIGN §5): sealed segments and an open head, a write that costs
O(new events) whatever the history, two tabs that never lose each other's events, and every
older stored version read and migrated with nothing lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient import Event, dump_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.store import log_format
from pyclient.store.keys import GUEST_EVENTS_KEY, KEY_PREFIX, checkpoint_key, events_key
from pyclient.store.local_store import LocalStore
from pyclient.store.log_format import EVENTS_PER_STEP, LogText, encode_log
from pyclient.store.segments import (
    decode_segment_steps,
    encode_segment,
    segment_ids_in,
    segment_key,
)

from .log_strategies import EVENT, assert_identical, events, log_of, store_on, uuid_event

SMALL = 8


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LocalStore, "seal_at", SMALL)


class CountingStorage(MemoryStorage):
    """Memory storage that counts the UTF-16 units each ``set`` writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[int] = []

    def set(self, key: str, value: str) -> None:
        super().set(key, value)
        self.written.append(len(value.encode("utf-16-le")) // 2)


def test_a_full_head_is_sealed_into_segments_under_the_log_key() -> None:
    storage = MemoryStorage()
    local = store_on(storage)
    items = [uuid_event(n, n) for n in range(1, 21)]
    for event in items:
        local.add_events("u1", [event])
    segments = segment_ids_in(storage.data, events_key("u1"))
    assert len(segments) == 20 // SMALL
    assert all(
        k.startswith(events_key("u1")) for k in storage.data
    )  # the spec's storage listener sees every write
    head = json.loads(storage.data[events_key("u1")])
    assert head["v"] == 3 and sorted(s["id"] for s in head["segments"]) == segments
    assert [s["n"] for s in head["segments"]] == [SMALL] * len(segments)
    assert_identical(store_on(storage).read_events("u1"), log_of(items))


def test_a_write_costs_the_same_whatever_the_history() -> None:
    """With segments of 8 events, the 500th event writes as much as the 20th, but for the
    list of segments in the head (about 50 units a segment: 2048 events in practice)."""
    storage = CountingStorage()
    local = store_on(storage)
    sizes = []
    for n in range(1, 501):
        before = len(storage.written)
        local.add_events(None, [uuid_event(n, n)])
        sizes.append(sum(storage.written[before:]))
    # A write of the head alone (no seal) is bounded by a head of SMALL - 1 events.
    plain = [s for n, s in enumerate(sizes, 1) if n % SMALL]
    listed = json.loads(storage.data[GUEST_EVENTS_KEY])["segments"]
    listing = len(json.dumps(listed, separators=(",", ":")))
    assert listing <= 50 * len(listed)
    assert max(plain[-50:]) - listing <= 1.5 * max(plain[10:30])


def _read_in_steps(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Event], str | None, list[int]]:
    """A stored segment read in steps: its events, its problem, and how many events each step
    decoded or validated."""
    work = [0]

    def counted(name: str, size: Callable[..., int]) -> None:
        original = getattr(log_format, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            work[0] += size(*args, **kwargs)
            return original(*args, **kwargs)

        monkeypatch.setattr(log_format, name, wrapper)

    counted("_decode_rows", lambda _strings, _rows, ids, *_: len(ids))
    counted("_validate_items", lambda items, into: len(items))
    steps = decode_segment_steps(raw, "s1")
    per_step: list[int] = []
    while True:
        work[0] = 0
        try:
            next(steps)
        except StopIteration as done:
            got, problem = done.value
            break
        finally:
            per_step.append(work[0])
    return got, problem, per_step


def _others(count: int) -> list[Event]:
    """Events kept verbatim in a log's "other" (their ids are not UUIDs)."""
    return [
        EVENT.validate_python({**uuid_event(n, 0).model_dump(by_alias=True), "eventId": f"x-{n}"})
        for n in range(count)
    ]


def test_a_segment_is_read_in_steps_that_each_handle_a_bounded_number_of_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step decodes or validates at most EVENTS_PER_STEP events, however large the segment
    (a whole segment of 2,048 decoded in one step blocked the page for 50-90 ms)."""
    items = [uuid_event(n, 10 * n, score=n % 101) for n in range(1, 4 * EVENTS_PER_STEP + 99)]
    items += _others(3)
    got, problem, per_step = _read_in_steps(encode_segment("s1", LogText.of(items)), monkeypatch)
    assert problem is None
    assert_identical(got, log_of(items))
    assert max(per_step) <= EVENTS_PER_STEP
    assert sum(per_step) == 2 * len(items) - 3  # each decoded (but "other") and validated


def test_a_segment_with_broken_columns_keeps_its_other_events_read_in_steps_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compact = [uuid_event(n, 10 * n) for n in range(1, 100)]
    others = _others(EVENTS_PER_STEP + 88)
    stored = json.loads(encode_segment("s1", LogText.of(compact + others)))
    stored["rows"][0] = 99  # the first event's row code: there is no such code
    got, problem, per_step = _read_in_steps(json.dumps(stored, ensure_ascii=False), monkeypatch)
    assert problem == f"not a valid log (bad row code 99); {len(others)} events could be read"
    assert_identical(got, log_of(others))
    assert max(per_step) <= EVENTS_PER_STEP


def test_a_segment_with_two_faults_reports_its_ids_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a broken segment is reported for does not depend on which step finds it."""
    compact = [uuid_event(n, 10 * n) for n in range(1, 2 * EVENTS_PER_STEP)]
    stored = json.loads(encode_segment("s1", LogText.of(compact)))
    stored["rows"][6] = 99  # in the first step's events
    at = 9 * (EVENTS_PER_STEP + 10) + 4  # an id decoded in a later step
    stored["ids"] = stored["ids"][:at] + "!" + stored["ids"][at + 1 :]
    got, problem, _ = _read_in_steps(json.dumps(stored, ensure_ascii=False), monkeypatch)
    assert got == {}
    assert (
        problem == "not a valid log (a character outside the packed range); 0 events could be read"
    )


def test_every_key_of_a_log_starts_with_its_spec_key() -> None:
    storage = MemoryStorage()
    local = store_on(storage)
    local.add_events(None, [uuid_event(n, n) for n in range(1, 30)])
    for key in storage.data:
        assert key.startswith(GUEST_EVENTS_KEY)
    assert checkpoint_key(None).startswith(KEY_PREFIX + "_")
    assert checkpoint_key("u1") == "learning_progress_checkpoint:u1"


def test_a_segment_left_out_of_the_head_by_a_racing_tab_is_still_read() -> None:
    storage = MemoryStorage()
    local = store_on(storage)
    items = [uuid_event(n, n) for n in range(1, 12)]
    local.add_events(None, items)
    head = json.loads(storage.data[GUEST_EVENTS_KEY])
    head["segments"] = []  # a racing tab's head write did not list it
    storage.data[GUEST_EVENTS_KEY] = json.dumps(head)
    assert_identical(store_on(storage).read_events(None), log_of(items))


def test_a_corrupt_segment_is_kept_aside_and_its_valid_events_still_load() -> None:
    storage = MemoryStorage()
    store_on(storage).add_events(None, [uuid_event(n, n) for n in range(1, 12)])
    (segment_id,) = segment_ids_in(storage.data, GUEST_EVENTS_KEY)
    key = segment_key(GUEST_EVENTS_KEY, segment_id)
    data = json.loads(storage.data[key])
    data["rows"] = data["rows"][:-1]  # truncated
    data["other"] = [json.loads(dump_events([uuid_event(99, 5)]))[0]]
    broken = json.dumps(data)
    storage.data[key] = broken
    local = store_on(storage)
    got = local.read_events(None)
    assert str(uuid_event(99, 5).event_id) in got and len(got) == 11 - SMALL + 1
    assert broken in [v for k, v in storage.data.items() if k.startswith(key + ":corrupt:")]
    assert local.warnings and "not a valid log" in local.warnings[0]
    store_on(storage).read_events(None)
    assert len([k for k in storage.data if ":corrupt:" in k]) == 1  # not set aside twice


def test_a_missing_segment_is_reported() -> None:
    storage = MemoryStorage()
    store_on(storage).add_events(None, [uuid_event(n, n) for n in range(1, 12)])
    (segment_id,) = segment_ids_in(storage.data, GUEST_EVENTS_KEY)
    del storage.data[segment_key(GUEST_EVENTS_KEY, segment_id)]
    local = store_on(storage)
    assert len(local.read_events(None)) == 11 - SMALL
    assert local.warnings and "missing" in local.warnings[0]


# --------------------------------------------------------------------------- two writers


class RacingStorage(MemoryStorage):
    """A tab's view of shared storage in which another tab may write between this tab's read
    of a value and its write (localStorage has no transactions across tabs)."""

    def __init__(self, shared: MemoryStorage) -> None:
        super().__init__()
        self.data = shared.data  # one dict: the same storage
        self.before_write: Callable[[], None] | None = None

    def set(self, key: str, value: str) -> None:
        race, self.before_write = self.before_write, None
        if race is not None:
            race()
        super().set(key, value)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(1, 5), st.booleans()), min_size=1, max_size=25
    )
)
def test_two_writers_over_segments_lose_nothing(steps: list[tuple[int, int, bool]]) -> None:
    """Two tabs add events, sealing segments as they go; sometimes the other tab writes
    between a tab's read and its write. Once each tab has written again, storage holds every
    event either tab ever added."""
    shared = MemoryStorage()
    views = [RacingStorage(shared), RacingStorage(shared)]
    tabs = [LocalStore(view, _Clock()) for view in views]
    given_ids: set[str] = set()
    n = 0

    def fresh(count: int) -> list[Event]:
        nonlocal n
        made = [uuid_event(n + k, (n + k) * 7 % 1000 + 1) for k in range(1, count + 1)]
        n += count
        given_ids.update(e.event_id for e in made)
        return made

    for tab, count, race in steps:
        other = 1 - tab
        if race:
            racing = fresh(count)
            views[tab].before_write = lambda o=other, r=racing: _add(tabs[o], r)
        tabs[tab].add_events(None, fresh(count))
    for local in tabs:
        local.add_events(None, ())
    stored = store_on(shared).read_events(None)
    assert set(stored) == given_ids


def _add(local: LocalStore, events: list[Event]) -> None:
    local.add_events(None, events)


class _Clock:
    def now_ms(self) -> int:
        return 1_767_225_600_000


# --------------------------------------------------------------------------- older versions


def _version_0(items: list[Event]) -> str:
    return dump_events(items)


def _version_1(items: list[Event]) -> str:
    return f'{{"v":1,"events":{dump_events(items)}}}'


@settings(max_examples=60, deadline=None)
@given(
    st.lists(events(), max_size=30),
    st.sampled_from([_version_0, _version_1, encode_log]),
    st.booleans(),
)
def test_every_older_stored_version_is_migrated_with_nothing_lost(
    items: list[Event], encode: Callable[[list[Event]], Any], signed_in: bool
) -> None:
    user = "u1" if signed_in else None
    log = log_of(items)
    storage = MemoryStorage()
    storage.data[events_key(user)] = encode(list(log.values()))
    local = store_on(storage)
    assert_identical(local.read_events(user), log)
    local.add_events(user, ())  # the next write migrates
    assert json.loads(storage.data[events_key(user)])["v"] == 3
    if len(log) >= SMALL:
        assert segment_ids_in(storage.data, events_key(user))
    assert not local.warnings
    assert_identical(store_on(storage).read_events(user), log)


def test_a_large_older_log_near_the_quota_is_migrated_and_new_events_still_stored() -> None:
    """A version 2 log taking 71% of the quota: sealing it a segment at a time (each head
    write frees what the segment took) never needs room for it twice."""
    items = [uuid_event(n, n) for n in range(1, 401)]
    raw = encode_log(items)
    storage = MemoryStorage(quota=int(len(raw) / 0.71))
    storage.data[GUEST_EVENTS_KEY] = raw
    local = store_on(storage)
    new = uuid_event(1000, 999)
    local.add_events(None, [new])
    assert_identical(store_on(storage).read_events(None), log_of([*items, new]))
    assert segment_ids_in(storage.data, GUEST_EVENTS_KEY)  # sealed as far as room allowed


def test_a_segment_storage_refuses_leaves_the_events_in_the_head() -> None:
    storage = MemoryStorage()
    local = store_on(storage)
    items = [uuid_event(n, n) for n in range(1, SMALL)]
    local.add_events(None, items)
    head = len(storage.data[GUEST_EVENTS_KEY])
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items()) + head // 2
    local.add_events(None, [uuid_event(99, 99)])  # a seal is due, but no room for a segment
    assert segment_ids_in(storage.data, GUEST_EVENTS_KEY) == []
    assert_identical(store_on(storage).read_events(None), log_of([*items, uuid_event(99, 99)]))
