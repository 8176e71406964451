"""The client's own storage: event logs, snapshot caches, sync metadata and the client id.

Keys (spec §4.4, DESIGN §5)::

    learning_progress_events                 guest event log
    learning_progress_snapshot               guest snapshot cache
    learning_progress_events:{userId}        a user's event log
    learning_progress_snapshot:{userId}      a user's snapshot cache
    learning_progress_sync:{userId}          a user's sync metadata (never sent to the API)
    learning_progress_client_id              this browser profile's clientId

Every value carries a format version so later formats can migrate old data. Snapshot caches and
the client id are ``{"v":1,"snapshot":{...}}`` and ``{"v":1,"clientId":"..."}`` (the page's
first paint reads the snapshot cache without Python). Event logs and sync metadata are written
in version 2, the compact format below; versions 1 (``{"v":1,"events":[...]}``,
``{"v":1,"sync":{...}}``) and 0 (a bare JSON array of events) are read and rewritten as
version 2 on the next write.

Event log, version 2 (columnar, so that 50,000 events fit in an origin's 5 MiB)::

    {"v":2,
     "strings":[...],   every clientId, contentId, interactionId, pathId, contentVersion and
                        option id once; the columns below refer to them by index
     "ids":"...",       the eventIds (UUID bytes) of the compact events, base64url, concatenated
     "times":"...",     their occurredAt in ms: the first absolute, then deltas, base 36, ","
     "rows":[...],      their other fields, a flat list of numbers (see _encode_row)
     "other":[...]}     every event that does not fit that shape, verbatim

Compact events are sorted by (occurredAt, eventId). An event is compact when it is of a known
type, its eventId is a lowercase canonical UUID and its occurredAt is in the form clients write
(``2025-12-22T20:36:50.595Z``); any other event (an unknown type, an offset, a non-UUID id) is
kept in ``other`` exactly as read. Decoding gives back every event equal to the original, field
for field and byte for byte in :func:`~pyclient.codec.dump_events`.

Sync metadata, version 2: ``{"v":2,"sync":{...},"synced":"..."}``. Entries of status
``synced`` whose eventId is a canonical UUID are kept only as an id set (``synced``, base64url
like ``ids``); every other entry is kept in full. A synced entry read back has no
``lastAttemptAt``/``lastSyncedAt`` (nothing reads them; the state's ``lastSuccessfulSyncAt``
is kept). Absence of an entry still means "unknown" (see ``SyncEngine._mark_own_unsynced``).

The log is a grow-only set keyed by ``eventId``: every write re-reads what is stored and writes
the union, so two tabs writing at once never lose an event. Sync metadata is merged the same
way (an entry ``synced`` anywhere stays ``synced``; entries only stored are kept).

Corrupt values (bad JSON, wrong shape, an unknown newer format version, an event that does not
validate) never raise and are never dropped silently: the raw value is copied to
``<key>:corrupt:<timestamp>``, a warning is reported, and the valid events of the same value
still load. A write that storage refuses raises :class:`StorageFullError` and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ..core.codec import canonical_json, dump_events, gc_paused
from ..core.models import (
    ActivePathSet,
    ContentProgressed,
    Event,
    InteractionUpdate,
    LearningGuestProgress,
    LearningProgressSyncEntry,
    LearningProgressSyncState,
    OnboardingCompleted,
    OnboardingReset,
    ProgressReset,
)
from ..core.timestamps import format_day, format_instant, instant_of
from ..errors import StorageFullError
from ..ports import Clock, Storage

__all__ = [
    "CLIENT_ID_KEY",
    "FORMAT_VERSION",
    "GUEST_EVENTS_KEY",
    "GUEST_SNAPSHOT_KEY",
    "LOG_FORMAT_VERSION",
    "LocalStore",
    "decode_log",
    "decode_sync",
    "encode_log",
    "encode_sync",
    "events_key",
    "merge_sync_states",
    "preferred_copy",
    "snapshot_key",
    "sync_key",
]

#: The version of snapshot caches and client ids.
FORMAT_VERSION: Final = 1
#: The version event logs and sync metadata are written in (see the module docstring).
LOG_FORMAT_VERSION: Final = 2
GUEST_EVENTS_KEY: Final = "learning_progress_events"
GUEST_SNAPSHOT_KEY: Final = "learning_progress_snapshot"
CLIENT_ID_KEY: Final = "learning_progress_client_id"
_SYNC_PREFIX: Final = "learning_progress_sync"


def events_key(user_id: str | None) -> str:
    """The event log key of a user, or of the guest (``None``)."""
    return GUEST_EVENTS_KEY if user_id is None else f"{GUEST_EVENTS_KEY}:{user_id}"


def snapshot_key(user_id: str | None) -> str:
    """The snapshot cache key of a user, or of the guest (``None``)."""
    return GUEST_SNAPSHOT_KEY if user_id is None else f"{GUEST_SNAPSHOT_KEY}:{user_id}"


def sync_key(user_id: str) -> str:
    """The sync metadata key of a user (guests have none: nothing of theirs is synced)."""
    return f"{_SYNC_PREFIX}:{user_id}"


class _StoredLog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    events: list[Event]


class _StoredSync(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    sync: LearningProgressSyncState


class _StoredSyncV2(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[2]
    sync: LearningProgressSyncState
    synced: str


class _StoredSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    snapshot: LearningGuestProgress


_EVENT: TypeAdapter[Event] = TypeAdapter(Event)
_EVENT_LIST: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def preferred_copy(kept: Event, other: Event) -> Event:
    """Of two copies of one eventId, the canonically smaller (the reducer's rule)."""
    if kept is other or kept == other:
        return kept
    return other if canonical_json(other) < canonical_json(kept) else kept


def _union(into: dict[str, Event], events: Iterable[Event]) -> bool:
    """Add events to a log in place; True when something was added or replaced."""
    changed = False
    for event in events:
        kept = into.get(event.event_id)
        chosen = event if kept is None else preferred_copy(kept, event)
        if chosen is not kept:
            into[event.event_id] = chosen
            changed = True
    return changed


# --------------------------------------------------------------------------- version 2 codec

_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# The form clients write (format_instant); enough for a timestamp that already validated.
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


def _is_uuid(value: str) -> bool:
    return _UUID.match(value) is not None


def _is_compact(event: Event) -> bool:
    return (
        type(event) in _COMPACT_TYPES
        and _UUID.match(event.event_id) is not None
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


def _ids_text(ids: Iterable[str]) -> str:
    """Canonical UUIDs as one base64url string of their bytes, unpadded."""
    data = bytes.fromhex("".join(ids).replace("-", ""))
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _ids_of(text: str) -> list[str]:
    """The inverse of :func:`_ids_text`; ``ValueError`` when it is not one."""
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64url: {exc}") from None
    if len(data) % 16:
        raise ValueError("not a whole number of UUIDs")
    h = data.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, len(h), 32)
    ]


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


def encode_log(events: Iterable[Event]) -> str:
    """A log (one event per eventId) in the version 2 stored format."""
    with gc_paused():
        return _encode_log(events)


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


def _encode_log(events: Iterable[Event]) -> str:
    compact, other = _partition(events)
    strings: dict[str, int] = {}

    def ref(value: str) -> int:
        index = strings.get(value)
        if index is None:
            index = strings[value] = len(strings)
        return index

    rows: list[int | float] = []
    times: list[str] = []
    previous = 0
    for ms, _, event in compact:
        times.append(_base36(ms - previous))
        previous = ms
        _encode_row(event, ref, rows)
    head = json.dumps(
        {
            "v": LOG_FORMAT_VERSION,
            "strings": list(strings),
            "ids": _ids_text(event_id for _, event_id, _ in compact),
            "times": ",".join(times),
            "rows": rows,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f'{head[:-1]},"other":{dump_events(other)}}}'


class _LogText:
    """A version 2 log text kept in parts, so that compact events sorting after every stored
    one are appended without re-encoding the log; :meth:`text` is always byte-identical to
    :func:`encode_log` of the same events."""

    __slots__ = ("_ids_head", "_ids_raw", "_last_key", "_strings", "other", "parts")

    def __init__(self, other: list[Event]) -> None:
        self._strings: dict[str, int] = {}
        self._ids_raw = bytearray()
        self._ids_head = ""  # base64url of _ids_raw up to its last whole 3-byte group
        self._last_key: tuple[int, str] | None = None
        self.other = other
        # JSON texts: strings (inside the brackets), ids, times, rows (inside), other
        self.parts = ["", "", "", "", dump_events(other)]

    @classmethod
    def of(cls, events: Iterable[Event]) -> _LogText:
        """Every event encoded (the full, O(n) path)."""
        with gc_paused():
            compact, other = _partition(events)
            log = cls(other)
            log._append(compact)
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
        ids_raw = self._ids_raw
        start = len(ids_raw) // 3 * 3
        ids_raw.extend(bytes.fromhex("".join(e for _, e, _ in compact).replace("-", "")))
        end = len(ids_raw) // 3 * 3
        self._ids_head += base64.urlsafe_b64encode(ids_raw[start:end]).decode("ascii")
        tail = base64.urlsafe_b64encode(ids_raw[end:]).decode("ascii").rstrip("=")
        parts = self.parts

        def joined(old: str, new: str) -> str:
            return f"{old},{new}" if old and new else old or new

        if added:
            new_strings = json.dumps(added, ensure_ascii=False, separators=(",", ":"))[1:-1]
            parts[0] = joined(parts[0], new_strings)
        parts[1] = self._ids_head + tail
        parts[2] = joined(parts[2], ",".join(times))
        parts[3] = joined(parts[3], json.dumps(rows, separators=(",", ":"))[1:-1])
        self._last_key = compact[-1][:2]

    def text(self) -> str:
        strings, ids, times, rows, other = self.parts
        return (
            f'{{"v":{LOG_FORMAT_VERSION},"strings":[{strings}],"ids":"{ids}",'
            f'"times":"{times}","rows":[{rows}],"other":{other}}}'
        )


def _decode_compact(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The compact events of a version 2 log, as wire-format dicts (not validated yet).

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
    ids = _ids_of(data["ids"])
    deltas = [int(t, 36) for t in times.split(",")] if times else []
    if len(deltas) != len(ids):
        raise ValueError(f"{len(ids)} eventIds but {len(deltas)} times")
    events: list[dict[str, Any]] = []
    append = events.append
    ms = 0
    day = None
    prefix = ""
    p = 0
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
    if p != len(rows):
        raise ValueError("rows do not match the eventIds")
    return events


def _validate_items(items: Sequence[Any], into: dict[str, Event]) -> int:
    """Validate wire-format events into a log; returns how many were rejected."""
    try:
        with gc_paused():
            _union(into, _EVENT_LIST.validate_python(items))
        return 0
    except ValidationError:
        pass
    rejected = 0
    for item in items:
        try:
            _union(into, [_EVENT.validate_python(item)])
        except ValidationError:
            rejected += 1
    return rejected


def decode_log(raw: str) -> tuple[dict[str, Event], str | None]:
    """The valid events of a stored log value (version 0, 1 or 2), and what was wrong with it
    (``None``: nothing). Never raises."""
    events: dict[str, Event] = {}
    if raw.startswith('{"v":1,'):
        try:
            with gc_paused():
                _union(events, _StoredLog.model_validate_json(raw).events)
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
    elif isinstance(data, dict) and data.get("v") == LOG_FORMAT_VERSION:
        other = data.get("other")
        try:
            if not isinstance(other, list):
                raise TypeError("no list of other events")
            with gc_paused():
                items = _decode_compact(data) + other
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            salvage = other if isinstance(other, list) else []
            kept = len(salvage) - _validate_items(salvage, events)
            return events, f"not a valid version 2 log ({exc}); {kept} events could be read"
    elif isinstance(data, dict) and type(data.get("v")) is int and data["v"] > LOG_FORMAT_VERSION:
        return events, f"format version {data['v']} is newer than this client"
    else:
        return events, "not an event log"
    rejected = _validate_items(items, events)
    if rejected:
        return events, f"{rejected} of {len(items)} stored events are not valid"
    return events, None


_SYNCED: Final = LearningProgressSyncEntry(status="synced")


def encode_sync(state: LearningProgressSyncState) -> str:
    """Sync metadata in the version 2 stored format (synced UUID entries as an id set)."""
    compact: list[str] = []
    full: dict[str, LearningProgressSyncEntry] = {}
    for event_id, entry in state.events.items():
        if _is_compact_entry(event_id, entry):
            compact.append(event_id)
        else:
            full[event_id] = entry
    body = state.model_copy(update={"events": full}).model_dump_json(by_alias=True)
    return f'{{"v":{LOG_FORMAT_VERSION},"sync":{body},"synced":"{_ids_text(compact)}"}}'


def _is_compact_entry(event_id: str, entry: LearningProgressSyncEntry) -> bool:
    return (
        entry.status == "synced"
        and entry.retry_count == 0
        and not isinstance(entry.error_message, str)
        and _is_uuid(event_id)
    )


class _SyncText:
    """Sync metadata as last encoded, so that a state with only new entries (at the end of its
    dict) is encoded in O(new + entries kept in full); :meth:`encode` always decodes to what
    :func:`encode_sync` does (the same text when the dict kept its order)."""

    __slots__ = ("_events", "_full", "_ids_head", "_ids_raw", "_ids_tail", "last")

    def __init__(self) -> None:
        self.last: LearningProgressSyncState | None = None  # the state last encoded
        self._events: dict[str, LearningProgressSyncEntry] = {}
        self._full: dict[str, LearningProgressSyncEntry] = {}
        self._ids_raw = bytearray()
        self._ids_head = ""  # base64url of _ids_raw up to its last whole 3-byte group
        self._ids_tail = ""

    def _reset(self) -> None:
        self._events, self._full, self._ids_raw = {}, {}, bytearray()
        self._ids_head = self._ids_tail = ""

    def encode(self, state: LearningProgressSyncState, *, appended_only: bool = False) -> str:
        """``appended_only``: the caller vouches that ``state.events`` is the last encoded
        dict plus new entries at its end (the others the same objects), so the O(n)
        comparison of every kept entry is skipped."""
        events = state.events
        previous = self._events
        new: list[str] = []
        for event_id in reversed(events):
            if event_id in previous:
                break
            new.append(event_id)
        if len(events) != len(previous) + len(new) or not (
            appended_only or previous.items() <= events.items()
        ):
            self._reset()  # a changed or dropped entry: encode everything
            new = list(events)
        else:
            new.reverse()
        compact: list[str] = []
        for event_id in new:
            entry = events[event_id]
            if _is_compact_entry(event_id, entry):
                compact.append(event_id)
            else:
                self._full[event_id] = entry
        if compact:
            ids_raw = self._ids_raw
            start = len(ids_raw) // 3 * 3
            ids_raw.extend(bytes.fromhex("".join(compact).replace("-", "")))
            end = len(ids_raw) // 3 * 3
            self._ids_head += base64.urlsafe_b64encode(ids_raw[start:end]).decode("ascii")
            self._ids_tail = base64.urlsafe_b64encode(ids_raw[end:]).decode("ascii").rstrip("=")
        if self._events:  # a copy: the next diff must not see later changes
            self._events.update((event_id, events[event_id]) for event_id in new)
        else:
            self._events = dict(events)
        body = state.model_copy(update={"events": self._full}).model_dump_json(by_alias=True)
        synced = self._ids_head + self._ids_tail
        self.last = state
        return f'{{"v":{LOG_FORMAT_VERSION},"sync":{body},"synced":"{synced}"}}'


def decode_sync(raw: str) -> tuple[LearningProgressSyncState, str | None]:
    """Stored sync metadata (version 1 or 2), and what was wrong with it (``None``: nothing);
    of a broken value, the entries that are still valid. Never raises."""
    try:
        if raw.startswith(f'{{"v":{LOG_FORMAT_VERSION},'):
            stored = _StoredSyncV2.model_validate_json(raw)
            entries = dict.fromkeys(_ids_of(stored.synced), _SYNCED)
            entries.update(stored.sync.events)
            return stored.sync.model_copy(update={"events": entries}), None
        return _StoredSync.model_validate_json(raw).sync, None
    except ValueError:  # ValidationError included
        pass
    state = LearningProgressSyncState()
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return state, "not valid sync metadata (not JSON)"
    if isinstance(data, dict) and type(data.get("v")) is int and data["v"] > LOG_FORMAT_VERSION:
        return state, f"sync metadata format version {data['v']} is newer than this client"
    kept: dict[str, LearningProgressSyncEntry] = {}
    with contextlib.suppress(ValueError, TypeError, KeyError):
        kept = dict.fromkeys(_ids_of(data["synced"]), _SYNCED)
    with contextlib.suppress(KeyError, TypeError):
        entries = data["sync"]["events"]
        if isinstance(entries, dict):
            for event_id, entry in entries.items():
                with contextlib.suppress(ValidationError):
                    kept[event_id] = LearningProgressSyncEntry.model_validate(entry)
    return state.model_copy(update={"events": kept}), "not valid sync metadata"


_STATUS_WEIGHT: Final = {"local": 0, "syncing": 1, "error": 2, "synced": 3}


def merge_sync_states(
    mine: LearningProgressSyncState, stored: LearningProgressSyncState
) -> LearningProgressSyncState:
    """Sync metadata of two tabs: mine wins, except that ``synced`` anywhere stays ``synced``;
    entries only stored are kept; the latest successful sync time is kept."""
    if stored.events.items() <= mine.events.items():  # in C, identity first: O(n) but cheap
        events = mine.events  # every stored entry is in mine as is: the merge is mine's
    else:
        events = dict(stored.events)
        for event_id, entry in mine.events.items():
            other = events.get(event_id)
            if other is None or other.status != "synced" or entry.status == "synced":
                events[event_id] = entry
    times = [t for t in (mine.last_successful_sync_at, stored.last_successful_sync_at) if t]
    return mine.model_copy(
        update={
            "events": events,
            "last_successful_sync_at": max(times) if times else None,
            "last_synced_cursor": mine.last_synced_cursor or stored.last_synced_cursor,
        }
    )


class _CachedLog:
    """A stored log value as this store last read or wrote it."""

    __slots__ = ("events", "log", "raw")

    def __init__(self, raw: str, events: dict[str, Event], log: _LogText | None) -> None:
        self.raw = raw
        self.events = events  # owned: never handed out but read-only
        self.log = log  # the encoded parts of ``raw`` (None: not built yet)


class LocalStore:
    """Reads and writes one origin's progress keys through a :class:`Storage`.

    ``on_warning`` receives a readable message whenever stored data was corrupt (and set
    aside); messages are also kept in :attr:`warnings`.
    """

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.warnings: list[str] = []
        self._on_warning = on_warning
        # key -> the raw text as last read or written, its valid events and (once written)
        # its encoded parts: skips re-parsing an unchanged value, and re-encoding the whole
        # log for a new event, on every write.
        self._cache: dict[str, _CachedLog] = {}
        self._sync_cache: dict[str, tuple[str, LearningProgressSyncState]] = {}
        self._sync_text: dict[str, _SyncText] = {}  # key -> the encoder of its last write
        self._snapshot_json: tuple[LearningGuestProgress, str] | None = None

    # ------------------------------------------------------------------ warnings, corruption

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _set_aside(self, key: str, raw: str, why: str, *, strict: bool) -> bool:
        """Copy a corrupt value to ``<key>:corrupt:<timestamp>``; False if storage refused."""
        base = f"{key}:corrupt:{format_instant(self.clock.now_ms() * 1000)}"
        aside, n = base, 1
        existing = set(self.storage.keys())
        while aside in existing:
            if self.storage.get(aside) == raw:
                return True  # already kept aside
            n += 1
            aside = f"{base}:{n}"
        try:
            self.storage.set(aside, raw)
        except StorageFullError:
            if strict:
                raise
            self._warn(f"{key}: {why}; storage is full, so it could not be set aside")
            return False
        self._warn(f"{key}: {why}; the raw value is kept under {aside}")
        return True

    # ------------------------------------------------------------------ client id

    def client_id(self, make: Callable[[], str]) -> str:
        """This profile's stable clientId, created (with ``make``) and stored on first use."""
        raw = self.storage.get(CLIENT_ID_KEY)
        if raw is not None:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
            if (
                isinstance(data, dict)
                and data.get("v") == 1
                and isinstance(data.get("clientId"), str)
            ):
                if 1 <= len(data["clientId"]) <= 128:
                    return str(data["clientId"])
            elif 1 <= len(raw) <= 128 and not raw.startswith("{"):
                return raw  # a bare id, written before stored values had versions
            self._set_aside(CLIENT_ID_KEY, raw, "not a valid client id", strict=False)
        client_id = make()
        try:
            self.storage.set(CLIENT_ID_KEY, json.dumps({"v": 1, "clientId": client_id}))
        except StorageFullError:
            self._warn(f"{CLIENT_ID_KEY}: storage is full; the client id lives in memory only")
        return client_id

    # ------------------------------------------------------------------ event logs

    def _read_log(self, key: str, *, strict: bool) -> dict[str, Event]:
        raw = self.storage.get(key)
        if raw is None:
            self._cache.pop(key, None)
            return {}
        cached = self._cache.get(key)
        if cached is not None and cached.raw == raw:
            return dict(cached.events)
        events, problem = decode_log(raw)
        if problem is not None:
            if self._set_aside(key, raw, problem, strict=strict):
                # The raw value is safe elsewhere: store the valid events in its place so it
                # is not set aside again on every read.
                try:
                    self._write_raw(key, events)
                except StorageFullError:
                    if strict:
                        raise
            else:
                return events  # not cached: the next read tries to set it aside again
        elif not raw.startswith(f'{{"v":{LOG_FORMAT_VERSION},'):
            return events  # an older format: not cached, so the next write rewrites it
        self._cache[key] = _CachedLog(raw, dict(events), None)
        return events

    def _write_raw(self, key: str, events: Mapping[str, Event]) -> None:
        log = _LogText.of(events.values())
        raw = log.text()
        self.storage.set(key, raw)
        self._cache[key] = _CachedLog(raw, dict(events), log)

    def read_events(self, user_id: str | None) -> dict[str, Event]:
        """The stored log by eventId (corrupt parts set aside and reported, never raised)."""
        return self._read_log(events_key(user_id), strict=False)

    def write_events(
        self, user_id: str | None, events: Mapping[str, Event], *, appended_only: bool = False
    ) -> Mapping[str, Event]:
        """Store the union of ``events`` and what is stored now; return that union (read-only).

        Raises :class:`StorageFullError` when storage refuses (nothing changed then).

        The common case costs O(new events), whatever the log size: the stored value is still
        the text this store last wrote (no other tab wrote since), ``events`` holds what was
        written plus new events at its end (insertion order), and they sort after every stored
        compact event; the new text is then appended to the cached parts of the last one.
        Anything else takes the general path: re-read, union, encode everything.

        ``appended_only``: the caller vouches that ``events`` is exactly what its last
        successful call here stored (same objects, same order) plus new events at its end, so
        the fast path need not compare every stored event (O(n)) to find a replaced copy.
        """
        key = events_key(user_id)
        raw = self.storage.get(key)
        cached = self._cache.get(key)
        if cached is not None and raw is not None and cached.raw == raw and type(events) is dict:
            appended = self._append_events(key, cached, events, appended_only)
            if appended is not None:
                return appended
        merged = self._read_log(key, strict=True)
        before = len(merged)
        changed = _union(merged, events.values())
        if changed or len(merged) != before or key not in self._cache:
            self._write_raw(key, merged)
        return MappingProxyType(merged)

    def _append_events(
        self, key: str, cached: _CachedLog, events: dict[str, Event], appended_only: bool
    ) -> Mapping[str, Event] | None:
        """The fast path of :meth:`write_events` (stored value unchanged since this store read
        or wrote it); ``None`` when it does not apply (nothing changed then)."""
        stored = cached.events
        new: list[Event] = []
        for event_id in reversed(events):  # new events are at the end of the engine's log
            if event_id in stored:
                break
            new.append(events[event_id])
        new.reverse()
        for event in new:
            stored[event.event_id] = event
        # Every other event of ``events`` must be stored as is (a replaced copy, say, is not
        # detected by the scan above). One pass in C; ``in`` on items compares by identity
        # first, so this is cheap for the engine, whose events are the very stored objects.
        if not appended_only and not events.items() <= stored.items():
            for event in new:
                del stored[event.event_id]
            return None
        if not new:
            return MappingProxyType(stored)
        log = cached.log
        try:
            if log is None or not log.extend(new):
                log = _LogText.of(stored.values())
            raw = log.text()
            self.storage.set(key, raw)
        except StorageFullError:
            for event in new:
                del stored[event.event_id]
            cached.log = None  # its parts may hold the new events: rebuild on the next write
            raise
        cached.raw, cached.log = raw, log
        return MappingProxyType(stored)

    def remove_events(self, user_id: str | None) -> None:
        self.storage.remove(events_key(user_id))
        self._cache.pop(events_key(user_id), None)

    # ------------------------------------------------------------------ snapshot cache

    def read_snapshot(self, user_id: str | None) -> LearningGuestProgress | None:
        """The cached snapshot, or ``None`` (absent or corrupt: the log is the truth)."""
        key = snapshot_key(user_id)
        raw = self.storage.get(key)
        if raw is None:
            return None
        try:
            return _StoredSnapshot.model_validate_json(raw).snapshot
        except ValidationError:
            if self._set_aside(key, raw, "not a valid snapshot cache", strict=False):
                self.storage.remove(key)
            return None

    def snapshot_json(self, snapshot: LearningGuestProgress) -> str:
        """``snapshot`` as canonical JSON, kept for the last snapshot (it is immutable): the
        cache write and the page's listener share one serialization."""
        last = self._snapshot_json
        if last is not None and last[0] is snapshot:
            return last[1]
        body = snapshot.model_dump_json(by_alias=True)
        self._snapshot_json = (snapshot, body)
        return body

    def write_snapshot(self, user_id: str | None, snapshot: LearningGuestProgress) -> None:
        body = self.snapshot_json(snapshot)
        self.storage.set(snapshot_key(user_id), f'{{"v":{FORMAT_VERSION},"snapshot":{body}}}')

    def remove_snapshot(self, user_id: str | None) -> None:
        self.storage.remove(snapshot_key(user_id))

    # ------------------------------------------------------------------ sync metadata

    def read_sync(self, user_id: str) -> LearningProgressSyncState:
        """Stored sync metadata (empty when absent; corrupt values set aside)."""
        key = sync_key(user_id)
        raw = self.storage.get(key)
        if raw is None:
            self._sync_cache.pop(key, None)
            return LearningProgressSyncState()
        cached = self._sync_cache.get(key)
        if cached is not None and cached[0] == raw:
            return cached[1]
        state, problem = decode_sync(raw)
        if problem is None:
            if raw.startswith(f'{{"v":{LOG_FORMAT_VERSION},'):
                self._sync_cache[key] = (raw, state)
            return state
        if self._set_aside(key, raw, problem, strict=False):
            with contextlib.suppress(StorageFullError):
                self._write_sync_raw(user_id, state)
        return state

    def _write_sync_raw(
        self, user_id: str, state: LearningProgressSyncState, *, appended_only: bool = False
    ) -> None:
        key = sync_key(user_id)
        encoder = self._sync_text.pop(key, None) or _SyncText()
        raw = encoder.encode(state, appended_only=appended_only)
        self.storage.set(key, raw)  # on StorageFullError the encoder is dropped: it is ahead
        self._sync_cache[key] = (raw, state)
        self._sync_text[key] = encoder

    def write_sync(
        self,
        user_id: str,
        state: LearningProgressSyncState,
        *,
        reset_cursor: bool = False,
        appended_to: LearningProgressSyncState | None = None,
    ) -> LearningProgressSyncState:
        """Store ``state`` merged with what is stored (see :func:`merge_sync_states`);
        ``reset_cursor`` drops the stored cursor too (the server rejected it).

        ``appended_to``: the caller vouches that ``state`` is this state plus new entries at
        the end of its ``events`` (every other entry and field the same objects). When it is
        what this store last wrote and the stored value is still that text (no other tab
        wrote since), the merge is ``state`` itself and only the new entries are encoded:
        O(new + entries kept in full) instead of O(n)."""
        if appended_to is not None and not reset_cursor:
            key = sync_key(user_id)
            cached = self._sync_cache.get(key)
            encoder = self._sync_text.get(key)
            if (
                cached is not None
                and cached[1] is appended_to
                and encoder is not None
                and encoder.last is appended_to
                and self.storage.get(key) == cached[0]
            ):
                self._write_sync_raw(user_id, state, appended_only=True)
                return state
        merged = merge_sync_states(state, self.read_sync(user_id))
        if reset_cursor:
            merged = merged.model_copy(update={"last_synced_cursor": None})
        self._write_sync_raw(user_id, merged)
        return merged

    # ------------------------------------------------------------------ guest keys

    def clear_guest(self) -> None:
        """Remove the guest log and snapshot cache (after their events reached the server)."""
        self.remove_events(None)
        self.remove_snapshot(None)
