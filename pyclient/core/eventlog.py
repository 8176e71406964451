"""An event log as a set keyed by ``eventId``: the one home of its identity and order rules.

- Order: an event's position is ``(instant of occurredAt, eventId)`` (:func:`event_order_key`).
- Duplicates: of two differing copies of one ``eventId``, the one whose canonical JSON sorts
  first is kept (:func:`preferred_copy`), whichever arrived first; so any two replicas that
  saw the same copies keep the same one.
- Union: :func:`union_into` adds events to a log under that rule and says what changed.

The reducer, the stored log, the engine and the server all use these; none restates them.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from .codec import canonical_json
from .models import Event
from .timestamps import instant_of

__all__ = ["OrderKey", "dedupe_events", "event_order_key", "preferred_copy", "union_into"]

#: (instant of ``occurredAt`` in µs, ``eventId``): the total order of a log.
type OrderKey = tuple[int, str]


def event_order_key(event: Event) -> OrderKey:
    """The position of an event in the log: (instant of ``occurredAt``, ``eventId``)."""
    return instant_of(event.occurred_at), event.event_id


def preferred_copy(kept: Event, other: Event) -> Event:
    """Of two copies of one eventId, the one whose canonical JSON sorts first."""
    if kept is other or kept == other:
        return kept
    return other if canonical_json(other) < canonical_json(kept) else kept


def union_into(
    log: MutableMapping[str, Event], events: Iterable[Event]
) -> tuple[list[Event], list[Event]]:
    """Add ``events`` to ``log`` in place; returns (the events new to it, the copies that
    replaced a stored one), each in the order given."""
    fresh: list[Event] = []
    replaced: list[Event] = []
    for event in events:
        kept = log.get(event.event_id)
        if kept is None:
            log[event.event_id] = event
            fresh.append(event)
        else:
            chosen = preferred_copy(kept, event)
            if chosen is not kept:
                log[event.event_id] = chosen
                replaced.append(chosen)
    return fresh, replaced


def dedupe_events(events: Iterable[Event]) -> list[Event]:
    """One event per ``eventId`` (the preferred copy), in order of first appearance."""
    log: dict[str, Event] = {}
    union_into(log, events)
    return list(log.values())
