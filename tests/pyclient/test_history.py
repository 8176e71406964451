"""A long history at load (DESIGN §5): ready from a checkpoint with only the head read, the
rest of the log read and reduced again afterwards in steps, checkpoints that are never
trusted beyond a load, and syncs that wait for the whole log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient import Event, SyncEngine, canonical_json, reduce_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.checkpoint import REDUCER_RULES, Checkpoint, start_from_checkpoint
from pyclient.core.eventlog import event_order_key
from pyclient.core.timestamps import format_instant, instant_of
from pyclient.errors import StorageFullError
from pyclient.store.checkpoint_format import decode_checkpoint, encode_checkpoint
from pyclient.store.keys import (
    checkpoint_key,
    events_key,
    queue_key,
    snapshot_key,
    start_key,
    sync_key,
)
from pyclient.store.local_store import LocalStore
from pyclient.store.segments import segment_ids_in

from .builders import at, progress_reset, progressed
from .engine_harness import U1, Ids, fire, make, queued_keys, signed_in, stored_ids
from .fakes import FakeClock, FakeServer, FakeTransport, drive, error_response, start

SMALL = 8


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LocalStore, "seal_at", SMALL)


def same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


# --------------------------------------------------------------------------- the law

_STATUSES = st.sampled_from(["not_started", "in_progress", "completed", "passed"])


@st.composite
def logs(draw: st.DrawFn) -> list[Event]:
    """Logs of a few items over a few days, in any order, with resets now and then."""
    count = draw(st.integers(0, 40))
    events: list[Event] = []
    for n in range(count):
        stamp = at(draw(st.integers(1, 9)), draw(st.integers(0, 23)), ms=n)
        if draw(st.integers(0, 15)) == 0:
            events.append(progress_reset(f"e{n:03d}", stamp))
        else:
            item = f"item-{draw(st.integers(0, 4))}"
            events.append(progressed(f"e{n:03d}", stamp, item, draw(_STATUSES)))
    return events


@settings(max_examples=300, deadline=None)
@given(logs(), st.data())
def test_a_checkpoint_and_the_tail_equal_the_full_reduction(
    events: list[Event], data: st.DataObject
) -> None:
    """Any split of a log into sealed events (the checkpoint's) and the rest: the checkpoint
    is used only when every other event sorts after it, and then gives the full reduction."""
    sealed_flags = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    sealed = [e for e, flag in zip(events, sealed_flags, strict=True) if flag]
    rest = [e for e, flag in zip(events, sealed_flags, strict=True) if not flag]
    through = max(map(event_order_key, sealed), default=None)
    checkpoint = Checkpoint(frozenset({"s"}), through, len(sealed), reduce_events(sealed))
    start = start_from_checkpoint(checkpoint, ["s"], rest)
    late = through is not None and any(event_order_key(e) <= through for e in rest)
    assert (start is None) == late
    if start is not None:
        snapshot, last = start
        assert same(snapshot, reduce_events(events))
        assert last == max(map(event_order_key, events), default=None)


def test_a_checkpoint_of_other_segments_or_rules_is_not_used() -> None:
    events = [progressed("a", at(1), "x", "completed")]
    checkpoint = Checkpoint(frozenset({"s"}), event_order_key(events[0]), 1, reduce_events(events))
    assert start_from_checkpoint(checkpoint, ["s", "t"], []) is None
    older = Checkpoint(checkpoint.segments, checkpoint.through, 1, checkpoint.snapshot, 0)
    assert REDUCER_RULES != 0 and start_from_checkpoint(older, ["s"], []) is None
    assert start_from_checkpoint(checkpoint, ["s"], []) is not None


# --------------------------------------------------------------------------- the engine


class CountingStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get(self, key: str) -> str | None:
        self.reads.append(key)
        return super().get(key)


def guest_history(count: int, storage: MemoryStorage | None = None) -> tuple[MemoryStorage, Any]:
    """A guest who recorded ``count`` events on a tab that is then closed."""
    engine, _, storage, clock = make(storage=storage)
    for n in range(count):
        engine.record_progress(f"lesson-{n % 7}", ["in_progress", "completed"][n % 2])
        clock.advance(60_000)
    return storage, clock


def synced_history(count: int) -> tuple[SyncEngine, FakeServer, MemoryStorage, FakeClock]:
    """A signed-in learner who recorded ``count`` events, all synced."""
    engine, server, storage, clock = signed_in()
    for n in range(count):
        engine.record_progress(f"lesson-{n % 5}", "completed")
        clock.advance(1000)
    fire(engine, clock)
    return engine, server, storage, clock


def another_tab(server: FakeServer, storage: MemoryStorage, clock: FakeClock) -> SyncEngine:
    """Another tab of the same profile, signed in as the same user."""
    tab, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="t")
    drive(tab.sign_in(U1))
    return tab


def reload(
    storage: MemoryStorage, clock: FakeClock | None = None, *, start: bool = True
) -> SyncEngine:
    """A new tab on ``storage``; ``start=False``: one that finds no start point (as after
    another tab's write), so that it loads from the log and its checkpoint."""
    if not start:
        storage.data.pop(start_key(None), None)
    engine, _, _, _ = make(storage=storage, clock=clock or FakeClock(1_800_000_000_000))
    return engine


def finish(engine: SyncEngine) -> int:
    steps = 0
    for _ in engine.history_steps():
        steps += 1
    return steps


def full(storage: MemoryStorage, user: str | None = None) -> Any:
    copy = MemoryStorage()
    copy.data = dict(storage.data)
    return reduce_events(LocalStore(copy, FakeClock()).read_events(user).values())


@pytest.mark.parametrize("start", [True, False], ids=["start point", "checkpoint"])
def test_a_reload_starts_from_the_checkpoint_and_reads_the_segments_after(start: bool) -> None:
    storage, _ = guest_history(45)
    assert len(segment_ids_in(storage.data, events_key(None))) == 45 // SMALL
    counting = CountingStorage()
    counting.data = storage.data
    engine = reload(counting, start=start)
    assert not [k for k in counting.reads if ":segment:" in k]  # ready without them
    assert engine.history_pending
    assert same(engine.snapshot, full(storage))  # the checkpoint and the head
    assert finish(engine) > 45 // SMALL  # a step per segment, then the reduction
    assert not engine.history_pending
    assert same(engine.snapshot, full(storage)) and len(engine.events) == 45


def test_a_log_without_segments_or_start_point_needs_no_steps() -> None:
    storage, _ = guest_history(SMALL - 1)
    engine = reload(storage, start=False)
    assert not engine.history_pending and finish(engine) == 0
    assert same(engine.snapshot, full(storage))


def test_a_tampered_checkpoint_is_corrected_on_the_next_load() -> None:
    storage, _ = guest_history(30)
    key = checkpoint_key(None)
    stored = json.loads(storage.data[key])
    for item in stored["snapshot"]["content"].values():
        item["status"] = "passed"  # nothing reached "passed"
    storage.data[key] = json.dumps(stored)
    engine = reload(storage)
    shown: list[Any] = []
    engine.subscribe(lambda snapshot, status: shown.append(snapshot))
    finish(engine)
    truth = full(storage)
    assert same(engine.snapshot, truth) and same(shown[-1], truth)
    assert json.loads(storage.data[key])["snapshot"] != stored["snapshot"]  # corrected
    again = reload(storage)
    assert again.history_pending and same(again.snapshot, truth)


def test_an_unreadable_checkpoint_is_set_aside_and_the_log_reduced_whole() -> None:
    storage, _ = guest_history(30)
    storage.data[checkpoint_key(None)] = "{nope"
    engine = reload(storage, start=False)
    assert same(engine.snapshot, full(storage)) and len(engine.events) == 30
    assert any(":corrupt:" in k for k in storage.data)
    finish(engine)
    assert reload(storage).history_pending  # a checkpoint again: the next load starts from it


def test_a_late_event_before_the_checkpoint_is_sealed_and_the_checkpoint_made_again() -> None:
    storage, clock = guest_history(30)
    late = progressed("late", "2025-01-01T00:00:00.000Z", "lesson-0", "passed")
    LocalStore(storage, clock).add_events(None, [late])
    engine = reload(storage)
    assert not engine.history_pending or engine.events  # no usable checkpoint: read whole
    assert same(engine.snapshot, full(storage))
    finish(engine)
    again = reload(storage)
    assert again.history_pending  # the late event was sealed: the checkpoint covers it
    assert same(again.snapshot, full(storage))
    finish(again)
    assert same(again.snapshot, full(storage))
    own = [
        e for e in LocalStore(storage, clock).read_events(None).values() if e.client_id != "late"
    ]
    latest = max(instant_of(e.occurred_at) for e in own) // 1000
    assert json.loads(storage.data[checkpoint_key(None)])["own"] == latest


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-3, 3), st.booleans(), st.booleans(), st.booleans()),
        min_size=1,
        max_size=40,
    )
)
def test_any_history_loads_to_its_full_reduction(
    steps: list[tuple[int, bool, bool, bool]],
) -> None:
    """Events recorded, some of another device and out of order (stored by another tab, which
    the recording tab takes in, or not), reloads in between (finding a start point, or not);
    every load shows the reduction of the whole stored log: at once when it finds a start
    point, and once its steps are done in any case."""
    storage = MemoryStorage()
    clock = FakeClock()
    engine = reload(storage, clock)
    for n, (offset_days, told, reload_now, started) in enumerate(steps, 1):
        stamp = clock.now + offset_days * 86_400_000
        other = progressed(f"o{n:03d}", _iso(stamp), f"lesson-{n % 3}", "completed")
        engine.record_progress(f"lesson-{n % 4}", "in_progress")
        LocalStore(storage, clock).add_events(None, [other])
        if told:  # the tab takes the other tab's write in (and writes after it)
            engine.on_storage_change(events_key(None))
            engine.record_progress(f"lesson-{n % 5}", "completed")
        clock.advance(1000)
        if reload_now:
            engine = reload(storage, clock, start=started)
            if started and start_key(None) in storage.data:
                assert same(engine.snapshot, full(storage))
            finish(engine)
            assert same(engine.snapshot, full(storage))
    engine = reload(storage, clock)
    finish(engine)
    assert same(engine.snapshot, full(storage))


def _iso(ms: int) -> str:
    return format_instant(ms * 1000)


def test_a_record_before_the_segments_are_read_is_shown_and_kept() -> None:
    storage, _ = guest_history(30)
    engine = reload(storage)
    engine.record_progress("lesson-new", "passed")
    assert engine.snapshot.content["lesson-new"].status == "passed"
    finish(engine)
    assert same(engine.snapshot, full(storage))
    assert engine.snapshot.content["lesson-new"].status == "passed"


def test_a_sync_waits_until_the_segments_are_read() -> None:
    _, server, storage, clock = synced_history(30)
    assert len(server.ids()) == 30
    tab = another_tab(server, storage, clock)
    assert tab.history_pending
    requests = len(server.requests)
    tab.record_progress("lesson-9", "passed")
    assert fire(tab, clock) is not None and len(server.requests) == requests  # waits
    finish(tab)
    assert tab.next_wakeup_ms() is not None
    fire(tab, clock)
    assert len(server.ids()) == 31 and tab.status.pending == 0


def test_fully_synced_segments_are_stored_as_segment_ids_and_restored_on_load() -> None:
    """Once every event of a segment is synced (another client's pulled events count as
    synced), the sync metadata keeps the segment's id instead of an entry per event; a reload
    knows them synced again and sends nothing twice."""
    engine, server, storage, clock = signed_in()
    other_device = [
        progressed(f"o{n:03d}", _iso(clock.now - 1000 + n), "lesson-o", "completed", client_id="b")
        for n in range(5)
    ]
    server.events["u1"] = [json.loads(canonical_json(e)) for e in other_device]
    for n in range(40):
        engine.record_progress(f"lesson-{n % 5}", "completed")
        clock.advance(1000)
    fire(engine, clock)
    assert engine.status.pending == 0
    engine.record_progress("lesson-x", "in_progress")  # one more write of the metadata
    stored = json.loads(storage.data[sync_key("u1")])
    segments = segment_ids_in(storage.data, events_key("u1"))
    assert segments and sorted(stored["segments"]) == segments
    sealed = LocalStore(storage, clock)
    sealed_ids = {i for s in segments for i in sealed.read_segment("u1", s)}
    assert len(sealed_ids) == (45 // SMALL) * SMALL
    assert not sealed_ids & set(stored["sync"]["events"])  # no entry of theirs is written
    puts = len(server.puts())
    tab = another_tab(server, storage, clock)
    finish(tab)
    fire(tab, clock)
    sent = [e["eventId"] for r in server.puts()[puts:] for e in r.body["events"]]
    assert tab.status.pending == 0 and len(sent) == 1  # only lesson-x
    assert len(server.ids()) == 46
    own = {e.event_id for e in tab.events if e.client_id == tab.client_id}
    assert all(tab.sync_state.events[i].status == "synced" for i in own)


def test_a_segment_with_an_unsynced_event_of_this_client_is_not_marked() -> None:
    engine, _, storage, clock = signed_in()
    for n in range(20):
        engine.record_progress(f"lesson-{n % 5}", "completed")
        clock.advance(1000)
    stored = json.loads(storage.data[sync_key("u1")])
    assert segment_ids_in(storage.data, events_key("u1")) and stored["segments"] == []


def test_a_step_left_half_done_is_done_again_and_loses_nothing() -> None:
    storage, _ = guest_history(40)
    engine = reload(storage)
    for _ in range(3):
        next(engine.history_steps())  # the driver stops between steps (or is dropped)
    finish(engine)
    assert len(engine.events) == 40 and same(engine.snapshot, full(storage))


def test_an_entry_another_tab_left_unsynced_in_a_fully_synced_segment_is_settled() -> None:
    """Stored metadata keeps a segment as all synced and also, written by a tab that merged
    another tab's entries mid-sync, an entry of it as ``syncing``: it does not stay pending
    (a reload takes it as interrupted: sent again, the server keeps it once)."""
    engine, server, storage, clock = synced_history(20)
    engine.record_progress("lesson-x", "in_progress")  # marks the sealed segments synced
    segment = segment_ids_in(storage.data, events_key("u1"))[0]
    sealed = next(iter(LocalStore(storage, clock).read_segment("u1", segment)))
    stored = json.loads(storage.data[sync_key("u1")])
    assert segment in stored["segments"] and sealed not in stored["sync"]["events"]
    stored["sync"]["events"][sealed] = {"status": "syncing"}
    storage.data[sync_key("u1")] = json.dumps(stored)
    tab = another_tab(server, storage, clock)
    finish(tab)
    tab.on_storage_change(sync_key("u1"))
    fire(tab, clock)
    assert tab.sync_state.events[sealed].status == "synced" and tab.status.pending == 0
    assert server.ids().count(sealed) == 1


def test_a_syncing_entry_merged_before_its_segment_was_marked_is_settled() -> None:
    """Tab B merged tab A's ``syncing`` entries; A then finished, marked the segment all
    synced and stopped writing those entries: B's entries do not stay ``syncing``."""
    storage, clock, server = MemoryStorage(), FakeClock(), FakeServer()
    transport = FakeTransport(server)
    engine = SyncEngine(storage, transport, clock, new_id=Ids("a"))
    drive(engine.sign_in(U1))
    tab = another_tab(server, storage, clock)
    for n in range(20):
        engine.record_progress(f"lesson-{n % 5}", "completed")
        clock.advance(1000)
    sealed = [i for s in segment_ids_in(storage.data, events_key("u1")) for i in
              LocalStore(storage, clock).read_segment("u1", s)]  # fmt: skip
    transport.pause = lambda method, url: method == "PUT"
    running = engine.sync()
    assert start(running)  # A is inside its PUT: its entries are stored as syncing
    tab.on_storage_change(events_key("u1"))
    assert {tab.sync_state.events[i].status for i in sealed} == {"syncing"}
    transport.pause = None
    drive(running)  # A finishes
    engine.record_progress("lesson-x", "in_progress")  # and marks the segments synced
    assert sorted(json.loads(storage.data[sync_key("u1")])["segments"]) == sorted(
        segment_ids_in(storage.data, events_key("u1"))
    )
    tab.on_storage_change(sync_key("u1"))
    assert {tab.sync_state.events[i].status for i in sealed} == {"synced"}


def _sealed_as_recorded(storage: MemoryStorage) -> None:
    """The checkpoint as the recording tab extended it, a seal at a time."""


def _written_by_a_full_reduction(storage: MemoryStorage) -> None:
    del storage.data[checkpoint_key(None)]
    finish(reload(storage))


def _of_version_1_then_reduced(storage: MemoryStorage) -> None:
    """A checkpoint an older client stored (no ``own``): read, then made again by the load."""
    stored = json.loads(storage.data[checkpoint_key(None)])
    del stored["own"]
    storage.data[checkpoint_key(None)] = json.dumps({**stored, "v": 1})
    engine = reload(storage)
    assert engine.history_pending  # version 1 is still a checkpoint to start from
    finish(engine)
    assert json.loads(storage.data[checkpoint_key(None)])["v"] == 2


@pytest.mark.parametrize(
    "made", [_sealed_as_recorded, _written_by_a_full_reduction, _of_version_1_then_reduced]
)
def test_a_record_before_the_segments_are_read_comes_after_this_clients_events(
    made: Callable[[MemoryStorage], None],
) -> None:
    storage, clock = guest_history(2 * SMALL)  # every event sealed: the head holds none
    made(storage)
    stored = LocalStore(storage, clock).read_events(None).values()
    latest = max(instant_of(e.occurred_at) for e in stored)
    engine = reload(storage, FakeClock(clock.now - 86_400_000))  # the clock stepped back
    assert engine.history_pending  # started from the checkpoint
    event_id = engine.record_progress("lesson-new", "passed")
    event = next(e for e in engine.events if e.event_id == event_id)
    assert instant_of(event.occurred_at) > latest
    finish(engine)
    assert same(engine.snapshot, full(storage)) and len(engine.events) == 2 * SMALL + 1
    assert engine.snapshot.content["lesson-new"].status == "passed"


def test_a_checkpoint_is_stored_and_read_back_with_what_it_knows_of_this_clients_events() -> None:
    events = [progressed("e1", "2026-01-01T00:00:00.000Z", "lesson-1", "completed")]
    snapshot = reduce_events(events)
    for own_ms in (0, 1_767_225_600_000, None):
        checkpoint = Checkpoint(
            frozenset({"s"}), event_order_key(events[0]), 1, snapshot, own_ms=own_ms
        )
        raw = encode_checkpoint(checkpoint, snapshot.model_dump_json(by_alias=True))
        assert json.loads(raw)["v"] == 2 and decode_checkpoint(raw) == checkpoint
    older = json.loads(raw)
    del older["own"]
    read = decode_checkpoint(json.dumps({**older, "v": 1}))
    assert read is not None and read.own_ms is None  # version 1: not known
    for wrong in (-1, 10**15, "soon"):  # past year 9999 no time can be made after it
        assert decode_checkpoint(json.dumps({**older, "own": wrong})) is None


def test_a_checkpoint_of_a_newer_version_is_not_used_nor_set_aside() -> None:
    storage, _ = guest_history(30)
    newer = {**json.loads(storage.data[checkpoint_key(None)]), "v": 3, "more": 1}
    storage.data[checkpoint_key(None)] = json.dumps(newer)
    engine = reload(storage)
    assert same(engine.snapshot, full(storage)) and len(engine.events) == 30  # read whole
    assert not any(":corrupt:" in k for k in storage.data)
    assert engine.status.storage_warning is None


def test_a_checkpoint_of_version_1_extended_by_a_seal_still_does_not_know() -> None:
    storage, clock = guest_history(2 * SMALL + SMALL - 1)  # the head one event short of a seal
    stored = json.loads(storage.data[checkpoint_key(None)])
    del stored["own"]
    storage.data[checkpoint_key(None)] = json.dumps({**stored, "v": 1})
    engine = reload(storage, clock, start=False)
    assert engine.history_pending
    engine.record_progress("lesson-seal", "completed")  # seals the head before the steps ran
    extended = json.loads(storage.data[checkpoint_key(None)])
    assert extended["count"] == 3 * SMALL and extended["own"] is None
    finish(engine)
    assert json.loads(storage.data[checkpoint_key(None)])["own"] > 0  # known once reduced


# --------------------------------------------------------------------------- start points


@pytest.fixture
def head_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every head the store decodes (its text)."""
    import pyclient.store.local_store as local_store

    reads: list[str] = []
    decode = local_store.decode_head_steps

    def counted(raw: str) -> Any:
        reads.append(raw)
        return decode(raw)

    monkeypatch.setattr(local_store, "decode_head_steps", counted)
    return reads


def history_with_resets(count: int) -> tuple[MemoryStorage, FakeClock]:
    """A guest's history with a reset of their progress in the head (folding any event of it
    twice would show a wrong snapshot: the reset would wipe what came after it again)."""
    engine, _, storage, clock = make()
    for n in range(count):
        if n == count - 3:
            engine.reset_progress()
        else:
            engine.record_progress(f"lesson-{n % 7}", ["in_progress", "completed"][n % 2])
        clock.advance(60_000)
    return storage, clock


def test_a_reload_reads_no_event_before_it_shows_the_log(head_reads: list[str]) -> None:
    storage, _ = history_with_resets(45)
    truth = full(storage)
    counting = CountingStorage()
    counting.data = storage.data
    head_reads.clear()
    engine = reload(counting)
    assert head_reads == [] and not [k for k in counting.reads if ":segment:" in k]
    assert checkpoint_key(None) not in counting.reads
    assert same(engine.snapshot, truth) and engine.history_pending
    shown = engine.store.snapshot_json(engine.snapshot)  # the cache's text, not made again
    assert shown == engine.snapshot.model_dump_json(by_alias=True)
    finish(engine)
    assert len(head_reads) == 1 and len(engine.events) == 45  # read once, after
    assert same(engine.snapshot, truth) and not engine.history_pending


def test_a_log_without_segments_started_from_its_start_point_syncs_at_once() -> None:
    _, server, storage, clock = synced_history(SMALL - 2)
    tab = another_tab(server, storage, clock)
    assert tab.history_pending  # its head is read as the first step
    tab.record_progress("lesson-9", "passed")
    fire(tab, clock)
    assert len(server.ids()) == SMALL - 1 and tab.status.pending == 0


@pytest.mark.parametrize("what", ["head", "snapshot cache", "segment"])
def test_a_start_point_is_not_used_once_another_tab_wrote(what: str, head_reads: list[str]) -> None:
    storage, clock = history_with_resets(45)
    if what == "head":
        LocalStore(storage, clock).add_events(None, [progressed("x", at(9), "lesson-x", "passed")])
    elif what == "snapshot cache":
        cached = json.loads(storage.data[snapshot_key(None)])
        cached["snapshot"]["content"] = {}  # not what the log reduces to
        storage.data[snapshot_key(None)] = json.dumps(cached)
    else:
        storage.data[f"{events_key(None)}:segment:{'0' * 32}"] = "{}"
    engine = reload(storage)
    assert head_reads  # read at load: the start point names another log
    finish(engine)
    assert same(engine.snapshot, full(storage))


def test_an_unreadable_start_point_is_set_aside(head_reads: list[str]) -> None:
    storage, _ = history_with_resets(30)
    storage.data[start_key(None)] = "{nope"
    engine = reload(storage)
    assert head_reads and same(engine.snapshot, full(storage))
    assert any(k.startswith(f"{start_key(None)}:corrupt:") for k in storage.data)
    assert engine.status.storage_warning is not None
    finish(engine)
    assert start_key(None) in storage.data  # made again
    newer = {**json.loads(storage.data[start_key(None)]), "v": 2}
    storage.data[start_key(None)] = json.dumps(newer)
    reload(storage)
    assert storage.data[start_key(None)] == json.dumps(newer)  # not read, not set aside


@pytest.mark.parametrize("seal", [False, True], ids=["head", "head and a segment"])
def test_another_tabs_write_before_the_head_is_read_is_folded_in_once(seal: bool) -> None:
    storage, clock = history_with_resets(3 * SMALL + 5)
    engine = reload(storage, clock)
    assert engine.history_pending
    other = [
        progressed(f"o{n}", _iso(clock.now + n), f"lesson-{n % 3}", "passed", client_id="b")
        for n in range(SMALL if seal else 1)
    ]
    LocalStore(storage, clock).add_events(None, other)
    assert len(segment_ids_in(storage.data, events_key(None))) == 3 + seal
    engine.on_storage_change(events_key(None))
    assert same(engine.snapshot, full(storage))  # before the steps: the write folded in once
    finish(engine)
    assert same(engine.snapshot, full(storage))
    assert len(engine.events) == 3 * SMALL + 5 + len(other)


def test_a_record_before_the_head_is_read_joins_the_log_it_was_started_from() -> None:
    storage, clock = history_with_resets(3 * SMALL + 5)
    engine = reload(storage, clock)
    stored = LocalStore(storage, clock).read_events(None).values()
    latest = max(instant_of(e.occurred_at) for e in stored)
    clock.now = latest // 1000 - 86_400_000  # the clock stepped back
    event_id = engine.record_progress("lesson-new", "passed")
    event = next(e for e in engine.events if e.event_id == event_id)
    assert instant_of(event.occurred_at) > latest
    assert same(engine.snapshot, full(storage))
    finish(engine)
    assert same(engine.snapshot, full(storage)) and len(engine.events) == 3 * SMALL + 6


def test_a_write_while_the_head_is_read_in_steps_is_taken_in_once() -> None:
    storage, clock = history_with_resets(3 * SMALL + 5)
    engine = reload(storage, clock)
    steps = engine.history_steps()
    next(steps)  # the head's read has begun
    other = progressed("o1", _iso(clock.now), "lesson-1", "passed", client_id="b")
    LocalStore(storage, clock).add_events(None, [other])
    engine.on_storage_change(events_key(None))  # needs the log: read at once
    assert same(engine.snapshot, full(storage))
    engine.record_progress("lesson-2", "passed")
    for _ in steps:
        pass
    assert not engine.history_pending and len(engine.events) == 3 * SMALL + 7
    assert same(engine.snapshot, full(storage))


def test_a_record_before_the_head_is_read_is_queued_at_once_and_logged_once_it_is(
    head_reads: list[str],
) -> None:
    storage, clock = history_with_resets(3 * SMALL + 5)
    engine = reload(storage, clock)
    head_reads.clear()
    event_id = engine.record_progress("lesson-new", "passed")
    assert head_reads == []  # the record did not wait for the log
    assert engine.snapshot.content["lesson-new"].status == "passed"
    assert queue_key(event_id) in storage.data  # durable at once
    assert event_id not in LocalStore(storage, clock).read_events(None)
    finish(engine)
    assert event_id in LocalStore(storage, clock).read_events(None)
    assert queue_key(event_id) not in storage.data
    assert same(engine.snapshot, full(storage)) and len(engine.events) == 3 * SMALL + 6


def test_a_record_queued_before_the_page_closed_joins_the_log_on_the_next_load() -> None:
    storage, clock = history_with_resets(3 * SMALL + 5)
    event_id = reload(storage, clock).record_progress("lesson-new", "passed")  # then closed
    again = reload(storage, clock)
    again.ingest_queue()  # as the page's start does
    assert again.snapshot.content["lesson-new"].status == "passed"
    finish(again)
    assert event_id in LocalStore(storage, clock).read_events(None)
    assert queue_key(event_id) not in storage.data
    assert same(again.snapshot, full(storage)) and len(again.events) == 3 * SMALL + 6


def test_a_guests_copies_at_sign_in_are_not_folded_again_into_the_start() -> None:
    """Guest events not synced yet are in the user's log (its segments) and in the guest log:
    copied again at sign-in before the segments are read, a reset among them is not folded a
    second time (it would wipe the user's progress from the page until the reduction)."""
    engine, server, storage, clock = make()
    server.fail = lambda r: error_response(503, "unavailable")
    for n in range(5):
        engine.record_progress(f"g-{n}", "completed")
        clock.advance(1000)
    engine.reset_progress()
    clock.advance(1000)
    drive(engine.sign_in(U1))
    for n in range(20):
        engine.record_progress(f"u-{n}", "completed")
        clock.advance(1000)
    for started in (True, False):
        if not started:
            storage.data.pop(start_key("u1"))
        tab, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="t")
        drive(tab.sign_in(U1))
        assert tab.history_pending and same(tab.snapshot, full(storage, "u1"))
        finish(tab)
        assert same(tab.snapshot, full(storage, "u1")) and not queued_keys(storage)


def test_a_record_queued_before_the_head_is_read_is_logged_before_the_identity_changes() -> None:
    _, server, storage, clock = synced_history(3 * SMALL + 5)
    tab = another_tab(server, storage, clock)
    assert tab.history_pending
    event_id = tab.record_progress("lesson-new", "passed")
    assert queue_key(event_id) in storage.data
    tab.sign_out()
    assert event_id in stored_ids(storage, "u1") and not queued_keys(storage)
    drive(tab.sign_in(U1))
    finish(tab)
    fire(tab, clock)
    assert tab.snapshot.content["lesson-new"].status == "passed" and event_id in server.ids()


def test_no_start_point_is_written_while_events_live_in_memory_only() -> None:
    class HeadRefused(MemoryStorage):
        refuse = False

        def set(self, key: str, value: str) -> None:
            if self.refuse and key == events_key(None):
                raise StorageFullError("quota")
            super().set(key, value)

    storage = HeadRefused()
    storage.data, clock = history_with_resets(3 * SMALL + 5)[0].data, FakeClock()
    storage.data.pop(start_key(None))
    tab = reload(storage, clock)
    storage.refuse = True
    tab.reset_progress()  # kept in memory only: the head's write is refused
    finish(tab)
    assert start_key(None) not in storage.data and tab.status.storage_warning is not None
    storage.refuse = False
    again = reload(storage, clock)
    assert same(again.snapshot, full(storage))


@pytest.fixture
def full_encodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every head the store encodes whole (not appended to its encoder)."""
    from pyclient.store import log_format

    sizes: list[int] = []
    of = log_format.LogText.of.__func__  # type: ignore[attr-defined]

    def counted(cls: Any, events: Any, **kwargs: Any) -> Any:
        events = list(events)
        sizes.append(len(events))
        return of(cls, events, **kwargs)

    monkeypatch.setattr(log_format.LogText, "of", classmethod(counted))
    return sizes


@pytest.mark.parametrize("start", [True, False], ids=["start point", "checkpoint"])
def test_a_record_after_a_reload_appends_to_the_head_rather_than_encoding_it_whole(
    start: bool, full_encodes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record soon after ready must not encode the head whole (up to 2,000 events: a long
    task in the page): the history steps build the head's encoder first, and a record made
    before the head was read is appended to it too."""
    from . import engine_harness

    monkeypatch.setattr(engine_harness.Ids, "__call__", lambda _: str(uuid.uuid4()))  # compact
    storage, clock = guest_history(3 * SMALL + 5)
    engine = reload(storage, clock, start=start)
    full_encodes.clear()
    early = engine.record_progress("lesson-early", "passed") if start else None
    finish(engine)
    late = engine.record_progress("lesson-late", "passed")
    assert full_encodes == []
    stored = LocalStore(storage, clock).read_events(None)
    assert late in stored and (early is None or early in stored)
    assert same(engine.snapshot, full(storage))
