"""Hypothesis strategies and builders for stored-log tests: events of every shape (ids,
offsets, unknown types), realistic appends, and a store on memory storage."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from hypothesis import strategies as st
from pydantic import TypeAdapter

from pyclient import Event, canonical_json, dump_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.timestamps import format_instant
from pyclient.store.local_store import LocalStore
from pyclient.store.log_format import LogText
from pyclient.store.segments import encode_head

from ..fakes import FakeClock

EVENT: TypeAdapter[Event] = TypeAdapter(Event)

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
    return EVENT.validate_python(data)


def log_of(items: list[Event]) -> dict[str, Event]:
    return {e.event_id: e for e in items}


def assert_identical(got: dict[str, Event], want: dict[str, Event]) -> None:
    assert set(got) == set(want)
    for event_id, event in want.items():
        assert dump_events([got[event_id]]) == dump_events([event])
        assert canonical_json(got[event_id]) == canonical_json(event)
        assert type(got[event_id]) is type(event)


def uuid_event(n: int, ms: int, **payload: Any) -> Event:
    stamp = f"2026-01-01T00:00:{ms // 1000:02d}.{ms % 1000:03d}Z"
    return EVENT.validate_python(
        {
            "eventId": str(uuid.UUID(int=n)),
            "occurredAt": stamp,
            "clientId": "c",
            "type": "content.progressed",
            "payload": {"contentId": "lesson-1", "status": "completed", **payload},
        }
    )


def store_on(storage: MemoryStorage) -> LocalStore:
    return LocalStore(storage, FakeClock())


START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00.000Z


@st.composite
def appends(draw: st.DrawFn) -> list[Event]:
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


def resolve(batch: list[Event], last_ms: int) -> tuple[list[Event], int]:
    out = []
    for event in batch:
        if isinstance(event.occurred_at, tuple):
            ms = (last_ms if event.occurred_at[1] >= 0 else START_MS) + event.occurred_at[1]
            last_ms = max(last_ms, ms)
            event = event.model_copy(update={"occurred_at": format_instant(ms * 1000)})
        out.append(event)
    return out, last_ms


def head_text(events: Iterable[Event], segments: Sequence[tuple[str, int]] = ()) -> str:
    """The stored head of a log holding ``events`` after ``segments``, as encoded at once."""
    return encode_head(segments, LogText.of(events))
