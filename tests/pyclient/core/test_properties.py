"""Laws of the reducer: the snapshot is a pure function of the set of events."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient import Event, LearningGuestProgress, canonical_json, parse_events, reduce_events
from pyclient.core.eventlog import dedupe_events, event_order_key
from pyclient.core.models import ContentProgressed, ProgressReset
from pyclient.core.reducer import (
    STATUS_RANK,
    Folding,
    apply_event,
    apply_events,
    bring_forward,
)

settings.register_profile("default", deadline=None, max_examples=150)
settings.load_profile("default")

_OFFSETS = ["Z", "+00:00", "+01:00", "-05:30", "+14:00"]


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    # Few distinct instants (ties are common), written with varied offsets and precision.
    day = draw(st.integers(1, 4))
    hour = draw(st.integers(0, 23))
    minute = draw(st.sampled_from([0, 30]))
    offset = draw(st.sampled_from(_OFFSETS))
    fraction = draw(st.sampled_from(["", ".5", ".500", ".123456789"]))
    return f"2025-03-{day:02d}T{hour:02d}:{minute:02d}:00{fraction}{offset}"


def _payload(draw: st.DrawFn) -> dict[str, Any]:
    content_id = draw(st.sampled_from(["lesson-1", "lesson-2", "quiz-1", "quiz-2"]))
    payload: dict[str, Any] = {
        "contentId": content_id,
        "status": draw(st.sampled_from(list(STATUS_RANK))),
    }
    if draw(st.booleans()):
        payload["score"] = draw(st.one_of(st.integers(0, 100), st.sampled_from([12.5, 99.9])))
    if draw(st.booleans()):
        payload["contentVersion"] = draw(st.sampled_from(["v1", "v2"]))
    if draw(st.booleans()):
        option = draw(st.sampled_from([None, "a", "b"]))
        state = None if draw(st.booleans()) else {"kind": "quiz", "selectedOptionId": option}
        payload["interaction"] = {"interactionId": f"{content_id}-q", "state": state}
    return payload


@st.composite
def raw_events(
    draw: st.DrawFn, event_ids: st.SearchStrategy[str], resets: bool = True
) -> dict[str, Any]:
    kinds = ["content.progressed"] * 6 + [
        "onboarding.completed",
        "onboarding.reset",
        "activePath.set",
        "badge.earned",
    ]
    if resets:
        kinds.append("progress.reset")
    kind = draw(st.sampled_from(kinds))
    event: dict[str, Any] = {
        "eventId": draw(event_ids),
        "occurredAt": draw(timestamps()),
        "clientId": draw(st.sampled_from(["client-a", "client-b"])),
        "type": kind,
    }
    if kind == "content.progressed":
        event["payload"] = _payload(draw)
    elif kind == "onboarding.completed":
        event["payload"] = {"pathId": draw(st.sampled_from(["path-a", "path-b"]))}
    elif kind == "activePath.set":
        event["payload"] = {"pathId": draw(st.sampled_from([None, "path-a", "path-b"]))}
    elif kind == "badge.earned":
        event["payload"] = {"level": draw(st.integers(1, 3))}
    return event


def as_events(raw: list[dict[str, Any]]) -> list[Event]:
    return parse_events(canonical_json(raw))


#: Logs whose eventIds may collide, sometimes with differing bodies.
colliding_logs = st.lists(raw_events(st.sampled_from([f"e-{i}" for i in range(12)])), max_size=30)
#: Logs with distinct eventIds.
unique_logs = st.lists(
    raw_events(st.uuids().map(str)), max_size=30, unique_by=lambda e: e["eventId"]
)


@given(colliding_logs, st.randoms())
def test_any_permutation_gives_the_same_snapshot(raw: list[dict[str, Any]], rnd: Any) -> None:
    events = as_events(raw)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert canonical_json(reduce_events(shuffled)) == canonical_json(reduce_events(events))


@given(colliding_logs, st.lists(st.integers(0, 29), max_size=20))
def test_any_duplication_gives_the_same_snapshot(
    raw: list[dict[str, Any]], picks: list[int]
) -> None:
    events = as_events(raw)
    copies = [events[i % len(events)] for i in picks] if events else []
    assert canonical_json(reduce_events(events + copies)) == canonical_json(reduce_events(events))


@given(colliding_logs, st.lists(st.integers(0, 3), max_size=30), st.randoms())
def test_any_split_into_batches_merged_by_event_id_gives_the_same_snapshot(
    raw: list[dict[str, Any]], batch_of: list[int], rnd: Any
) -> None:
    events = as_events(raw)
    batches: list[list[Event]] = [[], [], [], []]
    for i, event in enumerate(events):
        batches[batch_of[i] if i < len(batch_of) else 0].append(event)
    rnd.shuffle(batches)
    merged: list[Event] = []
    for batch in batches:  # a device merging what it pulls into its log, batch after batch
        merged = dedupe_events(merged + batch)
    assert canonical_json(reduce_events(merged)) == canonical_json(reduce_events(events))


@given(unique_logs)
def test_incremental_application_equals_full_reduction(raw: list[dict[str, Any]]) -> None:
    events = sorted(as_events(raw), key=event_order_key)
    snapshot = LearningGuestProgress()
    for n, event in enumerate(events, start=1):
        snapshot = apply_event(snapshot, event)
        if n % 5 == 0 or n == len(events):
            assert canonical_json(snapshot) == canonical_json(reduce_events(events[:n]))
    assert canonical_json(snapshot) == canonical_json(reduce_events(events))


@given(unique_logs, st.integers(0, 30), st.booleans())
def test_bringing_a_cached_snapshot_forward_equals_full_reduction(
    raw: list[dict[str, Any]], split: int, in_order: bool
) -> None:
    events = as_events(raw)
    if in_order:  # every new event sorts after the cached ones: they are folded in
        events.sort(key=event_order_key)
    cached, new = events[:split], events[split:]  # otherwise some may be late: re-reduced
    snapshot = reduce_events(cached)
    before = canonical_json(snapshot)
    last_key = max(map(event_order_key, cached), default=None)
    result, key, folded = bring_forward(snapshot, last_key, new, lambda: events)
    assert canonical_json(result) == canonical_json(reduce_events(events))
    assert key == max(map(event_order_key, events), default=None)
    late = last_key is not None and any(event_order_key(e) < last_key for e in new)
    assert folded is not late
    assert canonical_json(snapshot) == before  # the cached snapshot is left as it was


@given(unique_logs, st.lists(st.integers(0, 30), max_size=6))
def test_a_fold_carried_across_chunks_equals_the_full_reduction_at_every_cut(
    raw: list[dict[str, Any]], cuts: list[int]
) -> None:
    events = sorted(as_events(raw), key=event_order_key)
    folding, taken, start = Folding(), [], 0
    for cut in sorted({min(c, len(events)) for c in cuts} | {len(events)}):
        folding.fold(events[start:cut])
        start = cut
        snapshot = folding.snapshot()
        taken.append((cut, snapshot, canonical_json(snapshot)))
    for cut, snapshot, text in taken:  # a snapshot taken is not changed by later folds
        assert text == canonical_json(snapshot) == canonical_json(reduce_events(events[:cut]))


@given(unique_logs, st.integers(0, 30))
def test_folding_a_batch_equals_folding_its_events_one_by_one(
    raw: list[dict[str, Any]], split: int
) -> None:
    events = sorted(as_events(raw), key=event_order_key)
    base = reduce_events(events[:split])
    before = canonical_json(base)
    one_by_one = base
    for event in events[split:]:
        one_by_one = apply_event(one_by_one, event)
    batch = apply_events(base, events[split:])
    assert canonical_json(batch) == canonical_json(one_by_one)
    assert canonical_json(base) == before
    touched = {e.payload.content_id for e in events[split:] if isinstance(e, ContentProgressed)}
    if not any(isinstance(e, ProgressReset) for e in events[split:]):
        for content_id, item in base.content.items():  # untouched items stay shared
            assert (batch.content[content_id] is item) is (content_id not in touched)


@given(
    st.lists(
        raw_events(st.uuids().map(str), resets=False), max_size=30, unique_by=lambda e: e["eventId"]
    ),
    st.randoms(),
)
def test_without_a_reset_no_status_ever_decreases_as_events_arrive(
    raw: list[dict[str, Any]], rnd: Any
) -> None:
    events = as_events(raw)
    rnd.shuffle(events)  # arrival order, late old events included
    ranks: dict[str, int] = {}
    for n in range(1, len(events) + 1):
        snapshot = reduce_events(events[:n])
        for content_id, item in snapshot.content.items():
            rank = STATUS_RANK[item.status]
            assert rank >= ranks.get(content_id, 0)
            ranks[content_id] = rank
