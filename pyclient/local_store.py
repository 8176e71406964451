"""The client's own storage: event logs, snapshot caches, sync metadata and the client id.

Keys (spec §4.4, DESIGN §5)::

    learning_progress_events                 guest event log
    learning_progress_snapshot               guest snapshot cache
    learning_progress_events:{userId}        a user's event log
    learning_progress_snapshot:{userId}      a user's snapshot cache
    learning_progress_sync:{userId}          a user's sync metadata (never sent to the API)
    learning_progress_client_id              this browser profile's clientId

Every value carries a format version so later formats can migrate old data: ``{"v":1,
"events":[...]}``, ``{"v":1,"snapshot":{...}}``, ``{"v":1,"sync":{...}}``, ``{"v":1,
"clientId":"..."}``. An events value that is a bare JSON array (the format before versions) is
read as version 0 and rewritten as version 1 on the next write.

The log is a grow-only set keyed by ``eventId``: every write re-reads what is stored and writes
the union, so two tabs writing at once never lose an event. Sync metadata is merged the same
way (an entry ``synced`` anywhere stays ``synced``; entries only stored are kept).

Corrupt values (bad JSON, wrong shape, an unknown format version, an event that does not
validate) never raise and are never dropped silently: the raw value is copied to
``<key>:corrupt:<timestamp>``, a warning is reported, and the valid events of the same array
still load. A write that storage refuses raises :class:`StorageFullError` and changes nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from .codec import canonical_json, dump_events, gc_paused
from .errors import StorageFullError
from .models import (
    Event,
    LearningGuestProgress,
    LearningProgressSyncEntry,
    LearningProgressSyncState,
)
from .ports import Clock, Storage
from .timestamps import format_instant

__all__ = [
    "CLIENT_ID_KEY",
    "FORMAT_VERSION",
    "GUEST_EVENTS_KEY",
    "GUEST_SNAPSHOT_KEY",
    "LocalStore",
    "events_key",
    "merge_sync_states",
    "preferred_copy",
    "snapshot_key",
    "sync_key",
]

FORMAT_VERSION: Final = 1
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


_STATUS_WEIGHT: Final = {"local": 0, "syncing": 1, "error": 2, "synced": 3}


def merge_sync_states(
    mine: LearningProgressSyncState, stored: LearningProgressSyncState
) -> LearningProgressSyncState:
    """Sync metadata of two tabs: mine wins, except that ``synced`` anywhere stays ``synced``;
    entries only stored are kept; the latest successful sync time is kept."""
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
        # key -> (raw text as last read or written, its valid events): skips re-parsing an
        # unchanged value on every write.
        self._cache: dict[str, tuple[str, dict[str, Event]]] = {}

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
        if cached is not None and cached[0] == raw:
            return dict(cached[1])
        events, problem = self._parse_log(raw)
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
        elif not raw.startswith('{"v":1,'):
            return events  # an older format: not cached, so the next write rewrites it
        self._cache[key] = (raw, dict(events))
        return events

    @staticmethod
    def _parse_log(raw: str) -> tuple[dict[str, Event], str | None]:
        """The valid events of a stored value, and what was wrong with it (``None``: nothing)."""
        events: dict[str, Event] = {}
        try:
            with gc_paused():
                _union(events, _StoredLog.model_validate_json(raw).events)
            return events, None
        except ValidationError:
            pass
        try:
            data: Any = json.loads(raw)
        except ValueError:
            return events, "not valid JSON"
        if isinstance(data, list):  # version 0: a bare array
            items: Any = data
        elif isinstance(data, dict) and data.get("v") == 1 and isinstance(data.get("events"), list):
            items = data["events"]
        elif isinstance(data, dict) and isinstance(data.get("v"), int) and data["v"] > 1:
            return events, f"format version {data['v']} is newer than this client"
        else:
            return events, "not an event log"
        try:
            with gc_paused():
                _union(events, _EVENT_LIST.validate_python(items))
            return events, None
        except ValidationError:
            pass
        rejected = 0
        for item in items:
            try:
                _union(events, [_EVENT.validate_python(item)])
            except ValidationError:
                rejected += 1
        return events, f"{rejected} of {len(items)} stored events are not valid"

    def _write_raw(self, key: str, events: Mapping[str, Event]) -> None:
        raw = f'{{"v":{FORMAT_VERSION},"events":{dump_events(list(events.values()))}}}'
        self.storage.set(key, raw)
        self._cache[key] = (raw, dict(events))

    def read_events(self, user_id: str | None) -> dict[str, Event]:
        """The stored log by eventId (corrupt parts set aside and reported, never raised)."""
        return self._read_log(events_key(user_id), strict=False)

    def write_events(self, user_id: str | None, events: Mapping[str, Event]) -> dict[str, Event]:
        """Store the union of ``events`` and what is stored now; return that union.

        Raises :class:`StorageFullError` when storage refuses (nothing changed then).
        """
        key = events_key(user_id)
        merged = self._read_log(key, strict=True)
        before = len(merged)
        changed = _union(merged, events.values())
        if changed or len(merged) != before or key not in self._cache:
            self._write_raw(key, merged)
        return merged

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

    def write_snapshot(self, user_id: str | None, snapshot: LearningGuestProgress) -> None:
        body = snapshot.model_dump_json(by_alias=True)
        self.storage.set(snapshot_key(user_id), f'{{"v":{FORMAT_VERSION},"snapshot":{body}}}')

    def remove_snapshot(self, user_id: str | None) -> None:
        self.storage.remove(snapshot_key(user_id))

    # ------------------------------------------------------------------ sync metadata

    def read_sync(self, user_id: str) -> LearningProgressSyncState:
        """Stored sync metadata (empty when absent; corrupt values set aside)."""
        key = sync_key(user_id)
        raw = self.storage.get(key)
        if raw is None:
            return LearningProgressSyncState()
        try:
            return _StoredSync.model_validate_json(raw).sync
        except ValidationError:
            pass
        # Keep the valid entries of a partly broken value.
        state = LearningProgressSyncState()
        try:
            data: Any = json.loads(raw)
            entries = data["sync"]["events"] if isinstance(data, dict) else None
            if isinstance(entries, dict):
                kept: dict[str, LearningProgressSyncEntry] = {}
                for event_id, entry in entries.items():
                    with contextlib.suppress(ValidationError):
                        kept[event_id] = LearningProgressSyncEntry.model_validate(entry)
                state = state.model_copy(update={"events": kept})
        except (ValueError, KeyError, TypeError):
            pass
        if self._set_aside(key, raw, "not valid sync metadata", strict=False):
            with contextlib.suppress(StorageFullError):
                self._write_sync_raw(user_id, state)
        return state

    def _write_sync_raw(self, user_id: str, state: LearningProgressSyncState) -> None:
        body = state.model_dump_json(by_alias=True)
        self.storage.set(sync_key(user_id), f'{{"v":{FORMAT_VERSION},"sync":{body}}}')

    def write_sync(
        self, user_id: str, state: LearningProgressSyncState, *, reset_cursor: bool = False
    ) -> LearningProgressSyncState:
        """Store ``state`` merged with what is stored (see :func:`merge_sync_states`);
        ``reset_cursor`` drops the stored cursor too (the server rejected it)."""
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
