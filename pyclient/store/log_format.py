"""The stored event log: its versioned formats, one encoder and the decoder of every version.

Version 2 (columnar, so that 50,000 events fit in an origin's 5 MiB)::

    {"v":2,
     "strings":[...],   every clientId, contentId, interactionId, pathId, contentVersion and
                        option id once; the columns below refer to them by index
     "ids":"...",       the eventIds (UUID bytes) of the compact events, packed (packed_ids;
                        base64url here, dense in the version 3 head and segments)
     "times":"...",     their occurredAt in ms: the first absolute, then deltas, base 36, ","
     "rows":[...],      their other fields, a flat list of numbers (see _encode_row)
     "other":[...]}     every event that does not fit that shape, verbatim

Compact events are sorted by (occurredAt, eventId). An event is compact when it is of a known
type, its eventId is a lowercase canonical UUID and its occurredAt is in the form clients write
(``2025-12-22T20:36:50.595Z``); any other event (an unknown type, an offset, a non-UUID id) is
kept in ``other`` exactly as read. Decoding gives back every event equal to the original, field
for field and byte for byte in :func:`~pyclient.core.codec.dump_events`.

Version 1 (``{"v":1,"events":[...]}``) and version 0 (a bare JSON array of events) are read;
the store rewrites them as version 2 on the next write.

:class:`LogText` is the one encoder: it keeps the text in parts, so that events sorting after
every stored one are appended in O(new events); :func:`encode_log` is ``LogText.of(...).text()``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ..core.codec import dump_events, gc_paused
from ..core.eventlog import union_into
from ..core.models import (
    ActivePathSet,
    ContentProgressed,
    Event,
    InteractionUpdate,
    OnboardingCompleted,
    OnboardingReset,
    ProgressReset,
)
from ..core.timestamps import format_day, instant_of
from .packed_ids import PackedIds, dense_count, is_uuid, unpack_dense, unpack_ids

__all__ = [
    "LogText",
    "decode_columns",
    "decode_columns_steps",
    "decode_log",
    "encode_log",
    "run_steps",
]


class _StoredLog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    events: list[Event]


_EVENT: TypeAdapter[Event] = TypeAdapter(Event)
_EVENT_LIST: TypeAdapter[list[Event]] = TypeAdapter(list[Event])

_CLIENT_STAMP: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z"
)
_STATUSES: Final = ("not_started", "in_progress", "completed", "passed")
_STATUS_CODE: Final = {status: code for code, status in enumerate(_STATUSES)}
_DAY_MS: Final = 86_400_000
_BASE36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"

# A row starts with a code. Below 32: content.progressed, status in the low two bits, and flags
# for the optional fields that follow (in this order). From 32: the other known types.
_HAS_SCORE: Final = 4
_HAS_VERSION: Final = 8
_HAS_INTERACTION: Final = 16
_ONBOARDED: Final = 32  # pathId
_ONBOARDING_RESET: Final = 33
_PATH_SET: Final = 34  # pathId
_PATH_CLEARED: Final = 35  # pathId null
_PROGRESS_RESET: Final = 36
# An interaction's state: -1 null, 0 a quiz with no option chosen, k + 1 option strings[k].
_COMPACT_TYPES: Final = (
    ContentProgressed,
    OnboardingCompleted,
    OnboardingReset,
    ActivePathSet,
    ProgressReset,
)


def _is_compact(event: Event) -> bool:
    return (
        type(event) in _COMPACT_TYPES
        and is_uuid(event.event_id)
        and _CLIENT_STAMP.match(event.occurred_at) is not None
    )


_BASE36_PAIRS: Final = [a + b for a in _BASE36 for b in _BASE36]


def _base36(n: int) -> str:
    if 0 <= n < 1296 * 1296:
        high, low = divmod(n, 1296)
        return (_BASE36_PAIRS[high] + _BASE36_PAIRS[low]).lstrip("0") or "0"
    if n < 0:
        return "-" + _base36(-n)
    digits: list[str] = []
    while n:
        n, digit = divmod(n, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


def _encode_row(event: Event, ref: Callable[[str], int], row: list[int | float]) -> None:
    row_append = row.append
    if isinstance(event, ContentProgressed):
        payload = event.payload
        code = _STATUS_CODE[payload.status]
        extra: list[int | float] = []
        if isinstance(payload.score, int | float):
            code |= _HAS_SCORE
            extra.append(payload.score)
        if isinstance(payload.content_version, str):
            code |= _HAS_VERSION
            extra.append(ref(payload.content_version))
        if isinstance(payload.interaction, InteractionUpdate):
            code |= _HAS_INTERACTION
            state = payload.interaction.state
            extra.append(ref(payload.interaction.interaction_id))
            if state is None:
                extra.append(-1)
            elif state.selected_option_id is None:
                extra.append(0)
            else:
                extra.append(ref(state.selected_option_id) + 1)
        row_append(code)
        row_append(ref(event.client_id))
        row_append(ref(payload.content_id))
        row.extend(extra)
    elif isinstance(event, OnboardingCompleted):
        row.extend((_ONBOARDED, ref(event.client_id), ref(event.payload.path_id)))
    elif isinstance(event, OnboardingReset):
        row.extend((_ONBOARDING_RESET, ref(event.client_id)))
    elif isinstance(event, ActivePathSet):
        path = event.payload.path_id
        if path is None:
            row.extend((_PATH_CLEARED, ref(event.client_id)))
        else:
            row.extend((_PATH_SET, ref(event.client_id), ref(path)))
    else:
        row.extend((_PROGRESS_RESET, ref(event.client_id)))


def _partition(events: Iterable[Event]) -> tuple[list[tuple[int, str, Event]], list[Event]]:
    """Compact events as (ms, eventId, event) in stored order, and the others as they come."""
    compact: list[tuple[int, str, Event]] = []
    other: list[Event] = []
    for event in events:
        if _is_compact(event):
            compact.append((instant_of(event.occurred_at) // 1000, event.event_id, event))
        else:
            other.append(event)
    compact.sort()  # eventIds are unique: events themselves are never compared
    return compact, other


def encode_log(events: Iterable[Event]) -> str:
    """A log (one event per eventId) in the version 2 stored format."""
    return LogText.of(events, dense=False).text()


class LogText:
    """A version 2 log text kept in parts, so that compact events sorting after every compact
    event already encoded are appended without re-encoding the log; :meth:`text` is always
    the text that encoding every event at once gives."""

    __slots__ = ("_ids", "_last_key", "_other_count", "_strings", "parts")

    def __init__(self, other: Sequence[Event], *, dense: bool = True) -> None:
        self._strings: dict[str, int] = {}
        self._ids = PackedIds(dense=dense)
        self._last_key: tuple[int, str] | None = None
        self._other_count = len(other)
        # JSON texts: strings (inside the brackets), times, rows (inside), other
        self.parts = ["", "", "", dump_events(other)]

    @classmethod
    def of(cls, events: Iterable[Event], *, dense: bool = True) -> LogText:
        """Every event encoded (the full, O(n) path); ``dense``: ids packed as the version 3
        formats pack them, else as version 2 (:mod:`.packed_ids`)."""
        with gc_paused():
            return run_steps(cls.of_steps(events, dense=dense))

    @classmethod
    def of_steps(
        cls, events: Iterable[Event], *, dense: bool = True
    ) -> Generator[None, None, LogText]:
        """:meth:`of` in steps of bounded work, :data:`EVENTS_PER_STEP` events encoded a step:
        the same text, as the compact events are appended in their stored order."""
        yield  # sorting is a step of its own, after whatever the caller did
        with gc_paused():
            compact, other = _partition(events)
            log = cls(other, dense=dense)
        for start in range(0, len(compact), EVENTS_PER_STEP):
            yield
            with gc_paused():
                log._append(compact[start : start + EVENTS_PER_STEP])
        return log

    def extend(self, events: Sequence[Event]) -> bool:
        """Append new events when they are all compact and sort after every compact event;
        False (nothing changed) otherwise: the caller encodes the whole log instead."""
        compact: list[tuple[int, str, Event]] = []
        for event in events:
            if not _is_compact(event):
                return False
            compact.append((instant_of(event.occurred_at) // 1000, event.event_id, event))
        compact.sort()
        if compact and self._last_key is not None and compact[0][:2] <= self._last_key:
            return False
        self._append(compact)
        return True

    def _append(self, compact: Sequence[tuple[int, str, Event]]) -> None:
        if not compact:
            return
        strings = self._strings
        added: list[str] = []

        def ref(value: str) -> int:
            index = strings.get(value)
            if index is None:
                index = strings[value] = len(strings)
                added.append(value)
            return index

        rows: list[int | float] = []
        times: list[str] = []
        previous = 0 if self._last_key is None else self._last_key[0]
        for ms, _, event in compact:
            times.append(_base36(ms - previous))
            previous = ms
            _encode_row(event, ref, rows)
        self._ids.extend(event_id for _, event_id, _ in compact)
        parts = self.parts

        def joined(old: str, new: str) -> str:
            return f"{old},{new}" if old and new else old or new

        if added:
            new_strings = json.dumps(added, ensure_ascii=False, separators=(",", ":"))[1:-1]
            parts[0] = joined(parts[0], new_strings)
        parts[1] = joined(parts[1], ",".join(times))
        parts[2] = joined(parts[2], json.dumps(rows, separators=(",", ":"))[1:-1])
        self._last_key = compact[-1][:2]

    def __len__(self) -> int:
        return self._ids.count + self._other_count

    def body(self) -> str:
        """The members of the JSON object after ``"v"`` (the columns and ``other``)."""
        strings, times, rows, other = self.parts
        return (
            f'"strings":[{strings}],"ids":"{self._ids.text}",'
            f'"times":"{times}","rows":[{rows}],"other":{other}'
        )

    def text(self) -> str:
        """The version 2 stored log (a log made with ``dense=False``)."""
        return f'{{"v":2,{self.body()}}}'


#: Events decoded, validated or encoded per step of :func:`decode_columns_steps` and
#: :meth:`LogText.of_steps` (a segment is eight times this). A step of 512 events took 20-40 ms
#: in the page (measured in Chromium): with what else runs in the same task, too near a long
#: task (50 ms).
EVENTS_PER_STEP: Final = 256


def _decode_compact_steps(
    data: Mapping[str, Any], events: list[dict[str, Any]], *, dense: bool
) -> Generator[None]:
    """The compact events of a version 2 log, as wire-format dicts (not validated yet), into
    ``events``, :data:`EVENTS_PER_STEP` a step.

    Raises ``ValueError``, ``TypeError``, ``IndexError`` or ``KeyError`` on a malformed value.
    """
    strings, rows, times = data["strings"], data["rows"], data["times"]
    if not (
        isinstance(strings, list)
        and all(isinstance(s, str) for s in strings)
        and isinstance(rows, list)
        and isinstance(times, str)
        and isinstance(data["ids"], str)
    ):
        raise TypeError("not a version 2 log")
    with gc_paused():
        every_id = None if dense else unpack_ids(data["ids"])
        count = dense_count(data["ids"]) if every_id is None else len(every_id)
        deltas = [int(t, 36) for t in times.split(",")] if times else []
    if len(deltas) != count:
        raise ValueError(f"{count} eventIds but {len(deltas)} times")
    at: tuple[int, int | None, str, int] = (0, None, "", 0)
    for start in range(0, count, EVENTS_PER_STEP):
        yield
        stop = start + EVENTS_PER_STEP
        with gc_paused():
            ids = (
                unpack_dense(data["ids"], start, stop) if every_id is None else every_id[start:stop]
            )
            at = _decode_rows(strings, rows, ids, deltas[start:stop], events, at)
    if at[3] != len(rows):
        raise ValueError("rows do not match the eventIds")


def _decode_rows(
    strings: list[str],
    rows: list[Any],
    ids: list[str],
    deltas: list[int],
    events: list[dict[str, Any]],
    at: tuple[int, int | None, str, int],
) -> tuple[int, int | None, str, int]:
    """Decode the compact events of ``ids`` and their time ``deltas`` into ``events``; ``at``
    is where the call before left off (time, day, its prefix, row), and so is the value."""
    ms, day, prefix, p = at
    append = events.append
    for event_id, delta in zip(ids, deltas, strict=True):
        if delta < 0 and events:
            raise ValueError("times are not sorted")
        ms += delta
        if ms // _DAY_MS != day:
            day = ms // _DAY_MS
            prefix = format_day(day) + "T"
        seconds, millis = divmod(ms % _DAY_MS, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        event: dict[str, Any] = {
            "eventId": event_id,
            "occurredAt": f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z",
            "clientId": strings[rows[p + 1]],
        }
        code = rows[p]
        p += 2
        if type(code) is not int or code < 0:
            raise ValueError(f"bad row code {code!r}")
        if code < _ONBOARDED:
            payload: dict[str, Any] = {"contentId": strings[rows[p]], "status": _STATUSES[code & 3]}
            p += 1
            if code & _HAS_SCORE:
                payload["score"] = rows[p]
                p += 1
            if code & _HAS_VERSION:
                payload["contentVersion"] = strings[rows[p]]
                p += 1
            if code & _HAS_INTERACTION:
                state = rows[p + 1]
                payload["interaction"] = {
                    "interactionId": strings[rows[p]],
                    "state": None
                    if state < 0
                    else {
                        "kind": "quiz",
                        "selectedOptionId": None if state == 0 else strings[state - 1],
                    },
                }
                p += 2
            event["type"] = "content.progressed"
            event["payload"] = payload
        elif code == _ONBOARDED:
            event["type"] = "onboarding.completed"
            event["payload"] = {"pathId": strings[rows[p]]}
            p += 1
        elif code == _ONBOARDING_RESET:
            event["type"] = "onboarding.reset"
        elif code == _PATH_SET:
            event["type"] = "activePath.set"
            event["payload"] = {"pathId": strings[rows[p]]}
            p += 1
        elif code == _PATH_CLEARED:
            event["type"] = "activePath.set"
            event["payload"] = {"pathId": None}
        elif code == _PROGRESS_RESET:
            event["type"] = "progress.reset"
        else:
            raise ValueError(f"bad row code {code!r}")
        append(event)
    return ms, day, prefix, p


def _validate_items(items: Sequence[Any], into: dict[str, Event]) -> int:
    """Validate wire-format events into a log; returns how many were rejected."""
    try:
        with gc_paused():
            union_into(into, _EVENT_LIST.validate_python(items))
        return 0
    except ValidationError:
        pass
    rejected = 0
    for item in items:
        try:
            union_into(into, [_EVENT.validate_python(item)])
        except ValidationError:
            rejected += 1
    return rejected


def decode_columns_steps(
    data: Mapping[str, Any], into: dict[str, Event], *, dense: bool = True
) -> Generator[None, None, str | None]:
    """:func:`decode_columns` in steps of bounded work (:data:`EVENTS_PER_STEP` events
    decoded, or validated, a step); its value is what was wrong."""
    other = data.get("other")
    items: list[Any] = []
    broken = None
    try:
        if not isinstance(other, list):
            raise TypeError("no list of other events")
        yield from _decode_compact_steps(data, items, dense=dense)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        broken = exc
        items = []  # the columns are not trusted: only ``other`` is read
    if isinstance(other, list):
        items += other
    rejected = 0
    for start in range(0, len(items), EVENTS_PER_STEP):
        yield
        rejected += _validate_items(items[start : start + EVENTS_PER_STEP], into)
    yield  # what the caller does with the events is a step of its own
    if broken is not None:
        return f"not a valid log ({broken}); {len(items) - rejected} events could be read"
    if rejected:
        return f"{rejected} of {len(items)} stored events are not valid"
    return None


def decode_columns(
    data: Mapping[str, Any], into: dict[str, Event], *, dense: bool = True
) -> str | None:
    """The events of a parsed log object of version 3 (or, ``dense=False``, 2): its columns
    and ``other``, into ``into``; and what was wrong (``None``: nothing). Never raises."""
    return run_steps(decode_columns_steps(data, into, dense=dense))


def run_steps[T](steps: Generator[None, None, T]) -> T:
    """The value of a generator of steps, all run now."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return cast(T, done.value)


def decode_log(raw: str) -> tuple[dict[str, Event], str | None]:
    """The valid events of a stored log value (version 0, 1 or 2), and what was wrong with it
    (``None``: nothing). Never raises."""
    events: dict[str, Event] = {}
    if raw.startswith('{"v":1,'):
        try:
            with gc_paused():
                union_into(events, _StoredLog.model_validate_json(raw).events)
            return events, None
        except ValidationError:
            pass
    try:
        with gc_paused():
            data: Any = json.loads(raw)
    except ValueError:
        return events, "not valid JSON"
    if isinstance(data, list):  # version 0: a bare array
        items: list[Any] = data
    elif isinstance(data, dict) and data.get("v") == 1 and isinstance(data.get("events"), list):
        items = data["events"]
    elif isinstance(data, dict) and data.get("v") == 2:
        return events, decode_columns(data, events, dense=False)
    elif isinstance(data, dict) and type(data.get("v")) is int and data["v"] > 2:
        return events, f"format version {data['v']} is not an event log of this client"
    else:
        return events, "not an event log"
    rejected = _validate_items(items, events)
    if rejected:
        return events, f"{rejected} of {len(items)} stored events are not valid"
    return events, None
