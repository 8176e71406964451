"""The event log's identity rules (DESIGN §3): one event per eventId, of two differing copies
the one whose canonical JSON sorts first, whichever arrives first."""

from __future__ import annotations

import itertools

from pyclient import Event, canonical_json
from pyclient.core.eventlog import dedupe_events, preferred_copy, union_into

from ..builders import at, progressed


def _copies() -> tuple[Event, Event]:
    smaller = progressed("e1", at(1), "lesson-1", "completed", client_id="a")
    larger = progressed("e1", at(1), "lesson-1", "completed", client_id="b")
    assert canonical_json(smaller) < canonical_json(larger)
    return smaller, larger


def test_the_canonically_smaller_copy_wins_in_either_order() -> None:
    smaller, larger = _copies()
    assert preferred_copy(smaller, larger) is smaller
    assert preferred_copy(larger, smaller) is smaller
    for order in itertools.permutations([smaller, larger]):
        assert dedupe_events(order) == [smaller]


def test_union_reports_fresh_events_and_replaced_copies() -> None:
    smaller, larger = _copies()
    other = progressed("e2", at(2), "lesson-2", "completed")
    log: dict[str, Event] = {}
    assert union_into(log, [larger, other]) == ([larger, other], [])
    assert union_into(log, [larger]) == ([], [])  # the same copy again: nothing changes
    assert union_into(log, [smaller]) == ([], [smaller])
    assert union_into(log, [larger]) == ([], [])  # the larger copy never comes back
    assert log == {"e1": smaller, "e2": other}
