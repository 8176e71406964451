"""A load that starts from the snapshot cache (DESIGN §5): when the cache is stamped as the full
reduction of the log stored now, the page is ready with the head read and nothing else: no
checkpoint, no fold; the segments are read after ready. Any change since the stamp sends the
load back to the checkpoint and the head; nothing is lost either way."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pyclient import history, reduce_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.reducer import apply_events as apply
from pyclient.core.timestamps import format_instant, instant_of
from pyclient.store import local_store
from pyclient.store.keys import checkpoint_key, events_key, snapshot_key, stamp_key
from pyclient.store.local_store import LocalStore
from pyclient.store.log_format import LogText
from pyclient.store.segments import encode_segment, segment_id_of, segment_ids_in, segment_key

from .builders import progress_reset, progressed
from .engine_harness import U1, fire, make
from .fakes import FakeClock, drive
from .test_history import (
    SMALL,
    CountingStorage,
    finish,
    full,
    guest_history,
    reload,
    same,
    small_segments,
    synced_history,
)

__all__ = ["small_segments"]  # every test with small segments (a fixture)


@pytest.fixture
def head_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The heads the store decodes (their text), as they are decoded."""
    decoded: list[str] = []
    real = local_store.decode_head

    def counting(raw: str) -> Any:
        decoded.append(raw)
        return real(raw)

    monkeypatch.setattr(local_store, "decode_head", counting)
    return decoded


def test_a_stamped_log_is_ready_with_its_head_read_and_nothing_folded(
    head_decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, _ = guest_history(45)
    counting = CountingStorage()
    counting.data = storage.data
    truth = full(storage)
    head_decodes.clear()
    folds: list[int] = []
    monkeypatch.setattr(history, "apply_events", lambda s, e: folds.append(1) or apply(s, e))
    engine = reload(counting)
    assert head_decodes == [storage.data[events_key(None)]] and folds == []
    assert not [k for k in counting.reads if ":segment:" in k or k == checkpoint_key(None)]
    assert same(engine.snapshot, truth) and engine.history_pending
    assert finish(engine) > 45 // SMALL  # a step per segment, then the reduction
    assert len(head_decodes) == 1 and not engine.history_pending
    assert same(engine.snapshot, truth) and len(engine.events) == 45


def _another_tab_records(storage: MemoryStorage) -> None:
    late = progressed("other-tab", "2026-01-05T00:00:00.000Z", "lesson-1", "passed")
    LocalStore(storage, FakeClock()).add_events(None, [late])


def _another_tab_caches(storage: MemoryStorage) -> None:
    LocalStore(storage, FakeClock()).write_snapshot(None, reduce_events([]))


def _a_segment_the_head_does_not_list(storage: MemoryStorage) -> None:
    """What a racing tab's head write leaves: a segment found only by its key."""
    lost = progressed("lost-in-a-race", "2026-01-05T00:00:00.000Z", "lesson-2", "passed")
    segment_id = segment_id_of([lost.event_id])
    key = segment_key(events_key(None), segment_id)
    storage.data[key] = encode_segment(segment_id, LogText.of([lost]))


def _the_log_is_cleared(storage: MemoryStorage) -> None:
    LocalStore(storage, FakeClock()).clear_guest()


@pytest.mark.parametrize(
    "change",
    [_another_tab_records, _another_tab_caches, _a_segment_the_head_does_not_list],
)
def test_a_change_since_the_stamp_sends_the_load_to_the_log(
    change: Callable[[MemoryStorage], None], head_decodes: list[str]
) -> None:
    storage, _ = guest_history(30)
    change(storage)
    counting = CountingStorage()
    counting.data = storage.data
    engine = reload(counting)
    assert checkpoint_key(None) in counting.reads  # the normal start, not from the cache
    assert same(engine.snapshot, full(storage))
    finish(engine)
    assert same(engine.snapshot, full(storage))
    assert {e.event_id for e in engine.events} == set(
        LocalStore(storage, FakeClock()).read_events(None)
    )


def test_a_cleared_log_takes_its_stamp_along() -> None:
    storage, _ = guest_history(30)
    _the_log_is_cleared(storage)
    assert stamp_key(None) not in storage.data and snapshot_key(None) not in storage.data
    engine = reload(storage)
    assert same(engine.snapshot, reduce_events([])) and not engine.events


@pytest.mark.parametrize("raw", ["{nope", '{"v":1,"log":"x","cache":"y","last":[1]}', "[]"])
def test_an_unreadable_stamp_is_set_aside_and_the_log_read(raw: str) -> None:
    storage, _ = guest_history(30)
    storage.data[stamp_key(None)] = raw
    engine = reload(storage)
    aside = [k for k in storage.data if k.startswith(f"{stamp_key(None)}:corrupt:")]
    assert [storage.data[k] for k in aside] == [raw]
    assert "not a valid snapshot stamp" in (engine.status.storage_warning or "")
    assert same(engine.snapshot, full(storage))
    finish(engine)
    assert reload(storage).history_pending  # stamped again: the next load starts from it


def test_a_small_stamped_log_keeps_a_checkpoint_once_its_head_is_first_sealed() -> None:
    storage, clock = guest_history(SMALL - 2)
    engine, _, _, _ = make(storage=storage, clock=clock, prefix="n")  # a reload, new ids
    assert checkpoint_key(None) not in storage.data
    engine.record_progress("lesson-a", "passed")
    engine.record_progress("lesson-b", "passed")  # the eighth event: the head is sealed
    assert segment_ids_in(storage.data, events_key(None))
    stored = json.loads(storage.data[checkpoint_key(None)])
    assert stored["count"] == SMALL  # the next load can start from it, whatever the stamp
    del storage.data[stamp_key(None)]
    again = reload(storage)
    assert again.history_pending and same(again.snapshot, full(storage))


@pytest.mark.parametrize("count", [20, 6 * SMALL])  # the last: all sealed, the head empty
def test_a_record_right_after_a_reload_comes_after_this_clients_events(count: int) -> None:
    storage, clock = guest_history(count)
    stored = LocalStore(storage, clock).read_events(None).values()
    latest = max(instant_of(e.occurred_at) for e in stored)
    engine = reload(storage, FakeClock(clock.now - 86_400_000))  # the clock stepped back
    event_id = engine.record_progress("lesson-new", "passed")
    event = next(e for e in engine.events if e.event_id == event_id)
    assert instant_of(event.occurred_at) > latest
    assert engine.snapshot.content["lesson-new"].status == "passed"
    finish(engine)
    assert same(engine.snapshot, full(storage)) and len(engine.events) == count + 1


@pytest.mark.parametrize("told", ["before the history is read", "after it is read"])
def test_another_tabs_write_right_after_a_reload_is_taken_in(told: str) -> None:
    storage, _ = guest_history(30)
    engine = reload(storage)
    _another_tab_records(storage)
    if told == "after it is read":
        finish(engine)
    engine.on_storage_change(events_key(None))
    assert engine.snapshot.content["lesson-1"].status == "passed"
    finish(engine)
    assert same(engine.snapshot, full(storage)) and len(engine.events) == 31


def test_what_is_shown_before_the_history_is_verified_is_never_stamped() -> None:
    """An event of another tab sorting before the rest is folded in out of order until the
    reduction puts it in place: a cache written meanwhile must not be stamped as the log's."""
    storage, clock = guest_history(30)
    engine = reload(storage)
    before = storage.data[stamp_key(None)]
    past = progress_reset("past-reset", "2025-06-01T00:00:00.000Z")
    LocalStore(storage, clock).add_events(None, [past])
    engine.on_storage_change(events_key(None))
    engine.record_progress("lesson-new", "passed")
    assert engine.history_pending and storage.data[stamp_key(None)] == before
    again = reload(storage)
    assert same(again.snapshot, full(storage))
    finish(engine)
    assert storage.data[stamp_key(None)] != before  # verified: stamped
    assert same(reload(storage).snapshot, full(storage))


def test_a_signed_in_reload_is_ready_from_its_stamped_cache(head_decodes: list[str]) -> None:
    _, server, storage, clock = synced_history(30)
    truth = full(storage, U1.user_id)
    head_decodes.clear()
    tab, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="t")
    tab.begin_session(U1)  # the page's start; the bootstrap's sync follows in a task
    assert len(head_decodes) == 1 and same(tab.snapshot, truth)
    assert tab.status.user_id == U1.user_id and tab.status.pending == 0
    requests = len(server.requests)
    drive(tab.bootstrap())  # it waits for the segments: the page is not blocked
    assert len(server.requests) == requests
    finish(tab)
    assert tab.next_wakeup_ms() is not None  # due once the whole log is read
    fire(tab, clock)
    assert len(head_decodes) == 1 and len(server.requests) > requests
    assert tab.status.pending == 0 and len(server.ids()) == 30
    assert same(tab.snapshot, truth) and tab.status.last_successful_sync_at is not None


def test_the_bootstrap_of_a_stamped_log_without_segments_runs_at_once() -> None:
    _, server, storage, clock = synced_history(SMALL - 1)
    tab, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="t")
    tab.begin_session(U1)
    assert tab.history_pending  # the reduction is still to run
    requests = len(server.requests)
    drive(tab.bootstrap())
    assert len(server.requests) > requests and tab.status.state == "synced"


def _iso(ms: int) -> str:
    return format_instant(ms * 1000)


def test_history_steps_an_identity_change_left_behind_leave_the_new_log_alone() -> None:
    """The driver still holds the history steps of a guest's log when the learner signs in and
    out again: finishing them must not make the store forget what it wrote since (an event a
    racing tab's write then drops is written back with the next write)."""
    storage, _ = guest_history(45)
    engine = reload(storage)
    left = engine.history_steps()
    next(left), next(left)  # the segments half read
    engine.begin_session(U1)
    _another_tab_records(storage)  # the guest log is not the stamped one any more
    engine.sign_out()
    key = events_key(None)
    seen_by_racer = storage.data[key]
    event_id = engine.record_progress("lesson-3", "passed")
    for _ in left:  # the driver's next slice
        pass
    storage.data[key] = seen_by_racer  # a racing tab's write drops the new event
    engine.on_storage_change(key)
    engine.record_progress("lesson-4", "passed")
    assert event_id in LocalStore(storage, FakeClock()).read_events(None)
    finish(engine)
    assert same(engine.snapshot, full(storage))
    start = LocalStore(storage, FakeClock()).read_start(None)
    assert start is not None and same(start.snapshot, full(storage))


def test_a_segment_another_tab_seals_after_the_load_began_is_shown_once_read() -> None:
    storage, _ = guest_history(5)
    engine = reload(storage)
    other, _, _, _ = make(storage=storage, clock=FakeClock(1_900_000_000_000), prefix="o")
    for n in range(3):
        other.record_progress(f"other-{n}", "passed")  # the eighth event seals the head
    engine.on_storage_change(events_key(None))
    steps = engine.history_steps()
    while not engine.store.sealed_ids(None):  # until the new segment is read
        next(steps)
    assert all(engine.snapshot.content[f"other-{n}"].status == "passed" for n in range(3))
    finish(engine)
    assert same(engine.snapshot, full(storage))


def test_a_stamp_of_newer_rules_or_a_newer_version_is_left_alone() -> None:
    storage, _ = guest_history(30)
    stamp = json.loads(storage.data[stamp_key(None)])
    for changed in ({**stamp, "rules": stamp["rules"] + 1}, {**stamp, "v": 2, "more": 1}):
        storage.data[stamp_key(None)] = json.dumps(changed)
        engine = reload(storage)
        assert not any(":corrupt:" in k for k in storage.data)
        assert engine.status.storage_warning is None
        assert same(engine.snapshot, full(storage)) and len(engine.events) == 30  # the log


def test_text_that_is_not_unicode_does_not_stop_a_load() -> None:
    storage, _ = guest_history(30)
    storage.data[snapshot_key(None)] = '{"v":1,"snapshot":"\ud800"}'
    engine = reload(storage)
    assert same(engine.snapshot, full(storage))
