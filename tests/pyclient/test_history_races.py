"""Segmented logs under races between tabs, quota errors and lost data (DESIGN §5): a copy
replaced meanwhile, a seal another tab made too, a segment lost, marks of synced segments
that must never silence an event still to be sent."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.models import ContentProgressed, Event
from pyclient.core.timestamps import format_instant
from pyclient.errors import StorageFullError
from pyclient.store.keys import CLIENT_ID_KEY, events_key, sync_key
from pyclient.store.local_store import LocalStore
from pyclient.store.segments import segment_ids_in, segment_key

from .builders import progressed
from .engine_harness import U1, U2, fire, make
from .fakes import FakeClock, FakeServer, drive
from .test_history import (
    SMALL,
    another_tab,
    finish,
    full,
    guest_history,
    reload,
    same,
    synced_history,
)


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LocalStore, "seal_at", SMALL)


def other_copy(event: Event) -> ContentProgressed:
    """A differing copy of ``event`` (canonically smaller: the one every replica keeps)."""
    data = json.loads(event.model_dump_json(by_alias=True))
    return ContentProgressed.model_validate(
        {**data, "payload": {"contentId": "aaa-new", "status": "passed"}}
    )


def test_a_copy_replaced_while_the_history_is_verified_is_in_the_verified_snapshot() -> None:
    storage, clock = guest_history(30)
    engine = reload(storage)
    steps = engine.history_steps()
    while engine.store.segments_to_read(None) or not engine.events:
        next(steps)
    next(steps)  # the verification has begun
    sealed = engine.store.sealed_ids(None)
    victim = next(e for e in engine.events if e.event_id in sealed)
    LocalStore(storage, clock).add_events(None, [other_copy(victim)])  # another tab
    engine.on_storage_change(events_key(None))
    for _ in steps:
        pass
    assert not engine.history_pending
    assert "aaa-new" in full(storage).content and same(engine.snapshot, full(storage))


def test_a_copy_another_tab_replaced_in_the_head_is_taken_in() -> None:
    storage, clock = guest_history(30)
    engine = reload(storage)
    finish(engine)
    sealed = engine.store.sealed_ids(None)
    victim = next(e for e in engine.events if e.event_id not in sealed)
    LocalStore(storage, clock).add_events(None, [other_copy(victim)])
    engine.on_storage_change(events_key(None))
    assert "aaa-new" in full(storage).content and same(engine.snapshot, full(storage))


class SealingMeanwhile(MemoryStorage):
    """A tab's view of shared storage where another tab acts just before this tab writes a
    segment, and the head write after it is refused (quota)."""

    def __init__(self, shared: MemoryStorage) -> None:
        super().__init__()
        self.data = shared.data
        self.before_segment: Callable[[], None] | None = None
        self.refuse_head = False

    def set(self, key: str, value: str) -> None:
        if ":segment:" in key and self.before_segment is not None:
            hook, self.before_segment = self.before_segment, None
            hook()
        if key == events_key(None) and self.refuse_head:
            raise StorageFullError("quota")
        super().set(key, value)


def test_a_seal_refused_midway_never_removes_the_same_segment_another_tab_wrote() -> None:
    clock = FakeClock()
    shared = MemoryStorage()
    events = [
        progressed(f"e{n}", format_instant((clock.now + n) * 1000), "x", "completed")
        for n in range(5)
    ]
    LocalStore(shared, clock).add_events(None, events)
    view = SealingMeanwhile(shared)
    tab_a, tab_b = LocalStore(view, clock), LocalStore(shared, clock)
    tab_a.read_events(None)
    tab_b.read_events(None)
    view.before_segment = lambda: tab_b.seal(None)  # B seals the very same head meanwhile
    view.refuse_head = True
    with pytest.raises(StorageFullError):
        tab_a.seal(None)
    copy = MemoryStorage()
    copy.data = dict(shared.data)
    assert len(LocalStore(copy, clock).read_events(None)) == 5


def test_a_lost_segment_is_pulled_back_from_the_server() -> None:
    _, server, storage, clock = synced_history(30)
    on_server = set(server.ids())
    lost = segment_ids_in(storage.data, events_key("u1"))[0]
    del storage.data[segment_key(events_key("u1"), lost)]  # evicted, or a tool removed it
    tab = another_tab(server, storage, clock)
    finish(tab)
    fire(tab, clock)
    assert on_server <= {e.event_id for e in tab.events}
    again, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="r")
    drive(again.sign_in(U1))
    finish(again)
    assert on_server <= {e.event_id for e in again.events}  # stored again


def test_events_synced_for_one_user_are_still_sent_for_another() -> None:
    """The same events (a guest's, copied to two users in turn) in the same segment of two
    users' logs: one user's segment being all synced says nothing of the other's."""
    engine, server, storage, clock = make()
    for n in range(SMALL):
        engine.record_progress(f"lesson-{n}", "completed")
        clock.advance(1000)
    guest = {e.event_id: e for e in engine.events}
    drive(engine.sign_in(U1))
    fire(engine, clock)
    engine.record_progress("lesson-x", "in_progress")  # u1's segment stored as all synced
    engine.sign_out()
    LocalStore(storage, clock).add_events(None, list(guest.values()))  # the guest log again
    drive(engine.sign_in(U2))
    fire(engine, clock)
    assert set(guest) <= {e["eventId"] for e in server.events["u2"]}


def test_a_segment_marked_synced_by_another_client_never_silences_this_one() -> None:
    """Two clientIds in one profile (two tabs each made one on a first visit); one tab's
    metadata write raced the other's and dropped its entries; the first then marks the
    segment all synced (the other's events have no entry there): the owner still sends."""
    engine_x, server, storage, clock = make(prefix="x")
    drive(engine_x.sign_in(U1))
    drive(engine_x.set_online(False))
    storage.data[CLIENT_ID_KEY] = json.dumps({"v": 1, "clientId": "other-id"})
    engine_y, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="y")
    drive(engine_y.sign_in(U1))
    before = storage.data.get(sync_key("u1"))
    for n in range(SMALL):
        engine_x.record_progress(f"lesson-{n}", "completed")
        clock.advance(1000)
    assert segment_ids_in(storage.data, events_key("u1"))
    assert before is not None
    storage.data[sync_key("u1")] = before  # Y's write from an older read: X's entries gone
    engine_y.on_storage_change(events_key("u1"))
    engine_y.record_progress("lesson-y", "in_progress")  # Y marks the segment synced
    drive(engine_x.set_online(True))
    fire(engine_x, clock)
    sent = [e.event_id for e in engine_x.events if e.event_id.startswith("x")]
    assert set(sent) <= set(server.ids())


def test_no_sync_timer_fires_while_the_history_is_read() -> None:
    _, server, storage, clock = synced_history(30)
    tab = another_tab(server, storage, clock)
    assert tab.history_pending
    tab.record_progress("lesson-9", "passed")
    fire(tab, clock)  # the debounced sync: it waits for the whole log
    assert tab.next_wakeup_ms() is None  # no timer spinning meanwhile
    finish(tab)
    assert tab.next_wakeup_ms() is not None  # due once the log is read
    fire(tab, clock)
    assert tab.status.pending == 0


def test_the_history_steps_start_again_for_a_new_identity() -> None:
    server = FakeServer()
    storage, clock = guest_history(30)
    tab, _, _, _ = make(server=server, storage=storage, clock=clock, prefix="t")
    steps = tab.history_steps()
    next(steps)
    drive(tab.sign_in(U1))  # the guest's steps end: the user's log has steps of its own
    for _ in steps:
        pass
    assert not tab.history_pending or any(True for _ in tab.history_steps())
    finish(tab)
    assert not tab.history_pending
