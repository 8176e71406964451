"""Settling ``syncing`` entries of all-synced segments looks at those entries only, never at
every event of the segments (the first sync after a reload of a long history did, in one
task), and settles exactly what looking at every event settles."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient.core.models import LearningProgressSyncEntry, LearningProgressSyncState
from pyclient.core.sync_state import restore_synced
from pyclient.store.synced_segments import SyncedSegments

IDS = [f"e{n}" for n in range(12)]
#: mostly syncing: what there is to settle
STATUS = st.sampled_from(["syncing", "syncing", "syncing", "local", "synced", "error"])


@st.composite
def sync_states(draw: st.DrawFn) -> LearningProgressSyncState:
    chosen = draw(st.dictionaries(st.sampled_from(IDS), STATUS, min_size=3, max_size=12))
    return LearningProgressSyncState(
        events={i: LearningProgressSyncEntry(status=s) for i, s in chosen.items()}
    )


def reference(
    marked: set[str],
    looked: set[str],
    segments: dict[str, frozenset[str] | None],
    state: LearningProgressSyncState,
    stored: LearningProgressSyncState,
) -> LearningProgressSyncState:
    """Every event of each segment newly read and every stored entry, looked at one by one."""
    skip = {i for s in marked if segments.get(s) for i in segments[s] or ()}
    check = {i for i, e in stored.events.items() if e.status == "syncing" and i in skip}
    for segment_id in marked - looked:
        if segments.get(segment_id) is not None:
            check.update(segments[segment_id] or ())
            looked.add(segment_id)
    behind = [i for i in check if (e := state.events.get(i)) is not None and e.status == "syncing"]
    return restore_synced(state, behind) if behind else state


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_settling_gives_what_looking_at_every_event_gives(data: st.DataObject) -> None:
    segments: dict[str, frozenset[str] | None] = {}
    for n in range(data.draw(st.integers(1, 4))):
        read = data.draw(st.booleans())
        ids = data.draw(st.frozensets(st.sampled_from(IDS), min_size=1, max_size=6))
        segments[f"s{n}"] = ids if read else None
    synced, marked, looked = SyncedSegments(), set[str](), set[str]()
    state = data.draw(sync_states())  # carried over from call to call, as the engine does
    for _ in range(data.draw(st.integers(1, 4))):  # calls as segments are marked and read
        new = data.draw(st.sets(st.sampled_from(sorted(segments))))
        synced.note_stored(new)
        marked |= new
        for segment_id in segments:
            if segments[segment_id] is None and data.draw(st.booleans()):
                segments[segment_id] = data.draw(st.frozensets(st.sampled_from(IDS), min_size=1))
        stored = data.draw(sync_states())
        merged = {**state.events, **data.draw(sync_states()).events}  # another tab's, merged
        state = LearningProgressSyncState(events=merged)
        expected = reference(marked, looked, segments, state, stored)
        state = synced.settle(segments, state, stored)
        assert state == expected
