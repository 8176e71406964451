"""Glue between web/progress-client.js and pyclient; runs inside Pyodide on the page.

JSON text in, JSON text out: the JS side owns localStorage and the page, this module owns
validation and reduction (with pyclient, the same reducer the server uses). It imports neither
`js` nor `pyodide`, so it runs unchanged in CPython (tests/web/test_progress_bridge.py).
The sync engine will later replace this guest-only log behind the same JS API.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from pyclient import apply_event, canonical_json, parse_events, reduce_events
from pyclient.codec import parse_known_events
from pyclient.errors import InvalidEventsError
from pyclient.timestamps import instant_of

__all__ = ["GuestLog", "validate_new_events"]


def _key(event: Any) -> tuple[int, str]:
    return (instant_of(event.occurred_at), event.event_id)


def validate_new_events(events_json: str) -> str:
    """Validate events this client is about to record (known types only); raise ValueError."""
    try:
        events = parse_known_events(events_json)
    except InvalidEventsError as exc:
        raise ValueError(str(exc)) from None
    return canonical_json(list(events))


class GuestLog:
    """The in-memory event set of one log (keyed by eventId) and its reduced snapshot."""

    def __init__(self) -> None:
        self._events: list[Any] = []
        self._ids: set[str] = set()
        self._last: tuple[int, str] | None = None
        self._snapshot = reduce_events([])

    @property
    def size(self) -> int:
        return len(self._events)

    def snapshot_json(self) -> str:
        return canonical_json(self._snapshot)

    def load(self, events_json: str) -> str:
        """Replace the log with a stored array; return {"snapshot", "rejected"} as JSON.

        A stored event that does not validate is not dropped silently: its index in the array
        comes back in `rejected` for the caller to set aside, and the rest still loads.
        """
        rejected: list[int] = []
        try:
            events = list(parse_events(events_json))
        except InvalidEventsError:
            events = []
            for index, raw in enumerate(json.loads(events_json)):
                try:
                    events.extend(parse_events(json.dumps([raw])))
                except InvalidEventsError:
                    rejected.append(index)
        self._events = events
        self._ids = {e.event_id for e in events}
        self._snapshot = reduce_events(events)
        self._last = max((_key(e) for e in events), default=None)
        return json.dumps({"snapshot": self.snapshot_json(), "rejected": rejected})

    def merge(self, events_json: str) -> str:
        """Union events into the log (by eventId); return the new canonical snapshot.

        Applies events incrementally when each sorts after the last one applied, and falls back
        to a full reduction otherwise (late old events, duplicates).
        """
        incoming = list(parse_events(events_json))
        fresh = [e for e in incoming if e.event_id not in self._ids]
        if len(fresh) != len(incoming):
            # A known id again: identical copies change nothing; a differing copy may win the
            # tie-break, which only a full reduction decides.
            known = {canonical_json(e) for e in self._events}
            fresh += [
                e for e in incoming if e.event_id in self._ids and canonical_json(e) not in known
            ]
        if not fresh:
            return self.snapshot_json()
        keys = [_key(e) for e in fresh]
        in_order = all(a < b for a, b in itertools.pairwise(keys))
        incremental = (
            in_order
            and all(e.event_id not in self._ids for e in fresh)
            and (self._last is None or keys[0] > self._last)
        )
        self._events.extend(fresh)
        self._ids.update(e.event_id for e in fresh)
        if incremental:
            snapshot = self._snapshot
            for event in fresh:
                snapshot = apply_event(snapshot, event)
            self._snapshot = snapshot
        else:
            self._snapshot = reduce_events(self._events)
        self._last = max([*keys, *([self._last] if self._last else [])])
        return self.snapshot_json()
