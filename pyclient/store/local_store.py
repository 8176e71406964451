"""The client's own storage: reads and writes one origin's progress keys (:mod:`.keys`)
through a :class:`~pyclient.ports.Storage`.

Event logs are grow-only sets keyed by ``eventId``: :meth:`LocalStore.add_events` stores the
union of what is stored and the events given. Tabs read and write without a transaction, so
a tab may write a value based on a read from before another tab's write; the engine, which
holds the whole log in memory, writes back what such a write dropped
(:meth:`~pyclient.engine.ProgressEngine._note_stored`). Sync metadata is merged the same way
(:func:`~.sync_format.merge_sync_states`).

Cost: adding events costs O(new events), whatever the log size, when the stored value is still
the text this store last wrote (compared by value: no other tab wrote since) and the new events
sort after every stored one; the new text is then appended to the encoded parts of the last
one. The store finds that out from its own state; it takes no caller's word for it. Anything
else re-reads, unites and encodes everything.

Corrupt values (bad JSON, wrong shape, an unknown newer format version, an event that does not
validate) never raise and are never dropped silently: the raw value is copied to
``<key>:corrupt:<timestamp>``, a warning is reported, and the valid events of the same value
still load; an early action the page queued (:mod:`.queue_format`) that cannot be read is set
aside so, and its key removed. A write that storage refuses raises :class:`StorageFullError`
and changes nothing. Snapshot caches and the client id are ``{"v":1,"snapshot":{...}}`` and
``{"v":1,"clientId":"..."}`` (the page's first paint reads the snapshot cache without Python).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..core.eventlog import preferred_copy, union_into
from ..core.models import Event, LearningGuestProgress, LearningProgressSyncState
from ..core.timestamps import format_instant
from ..errors import StorageFullError
from ..ports import Clock, Storage
from .keys import (
    CLIENT_ID_KEY,
    LOG_FORMAT_VERSION,
    SNAPSHOT_FORMAT_VERSION,
    corrupt_key,
    events_key,
    snapshot_key,
    sync_key,
)
from .log_format import LogText, decode_log
from .queue_format import QueuedAction, decode_queued, is_queue_key
from .sync_format import SyncText, decode_sync, merge_sync_states

__all__ = ["LocalStore"]


class _StoredSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    snapshot: LearningGuestProgress


class _CachedLog:
    """A stored log value as this store last read or wrote it."""

    __slots__ = ("events", "log", "raw")

    def __init__(self, raw: str, events: dict[str, Event], log: LogText | None) -> None:
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
        self._sync_text: dict[str, SyncText] = {}  # key -> the encoder of its last write
        self._snapshot_json: tuple[LearningGuestProgress, str] | None = None

    # ------------------------------------------------------------------ warnings, corruption

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _set_aside(self, key: str, raw: str, why: str, *, strict: bool) -> bool:
        """Copy a corrupt value to ``<key>:corrupt:<timestamp>``; False if storage refused."""
        stamp = format_instant(self.clock.now_ms() * 1000)
        aside, n = corrupt_key(key, stamp), 1
        existing = set(self.storage.keys())
        while aside in existing:
            if self.storage.get(aside) == raw:
                return True  # already kept aside
            n += 1
            aside = corrupt_key(key, stamp, n)
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
                and data.get("v") == SNAPSHOT_FORMAT_VERSION
                and isinstance(data.get("clientId"), str)
            ):
                if 1 <= len(data["clientId"]) <= 128:
                    return str(data["clientId"])
            elif 1 <= len(raw) <= 128 and not raw.startswith("{"):
                return raw  # a bare id, written before stored values had versions
            self._set_aside(CLIENT_ID_KEY, raw, "not a valid client id", strict=False)
        client_id = make()
        try:
            self.storage.set(
                CLIENT_ID_KEY, json.dumps({"v": SNAPSHOT_FORMAT_VERSION, "clientId": client_id})
            )
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
                    self._write_log(key, events)
                except StorageFullError:
                    if strict:
                        raise
            else:
                return events  # not cached: the next read tries to set it aside again
        elif not raw.startswith(f'{{"v":{LOG_FORMAT_VERSION},'):
            self._cache.pop(key, None)
            return events  # an older format: not cached, so the next write rewrites it
        self._cache[key] = _CachedLog(raw, dict(events), None)
        return events

    def _write_log(self, key: str, events: Mapping[str, Event]) -> None:
        log = LogText.of(events.values())
        raw = log.text()
        self.storage.set(key, raw)
        self._cache[key] = _CachedLog(raw, dict(events), log)

    def read_events(self, user_id: str | None) -> dict[str, Event]:
        """The stored log by eventId (corrupt parts set aside and reported, never raised)."""
        return self._read_log(events_key(user_id), strict=False)

    def add_events(self, user_id: str | None, events: Iterable[Event]) -> Mapping[str, Event]:
        """Store the union of ``events`` and the stored log; return that union (read-only).
        Raises :class:`StorageFullError` when storage refuses (nothing changed then)."""
        key = events_key(user_id)
        events = list(events)
        raw = self.storage.get(key)
        cached = self._cache.get(key)
        if cached is not None and raw is not None and cached.raw == raw:
            appended = self._append(key, cached, events)
            if appended is not None:
                return appended
        merged = self._read_log(key, strict=True)
        fresh, replaced = union_into(merged, events)
        if fresh or replaced or key not in self._cache:
            self._write_log(key, merged)
        return MappingProxyType(merged)

    def _append(
        self, key: str, cached: _CachedLog, events: list[Event]
    ) -> Mapping[str, Event] | None:
        """:meth:`add_events` when the stored value is the one this store last read or
        wrote: new events are appended to its text; ``None`` when a given copy replaces a
        stored one (nothing changed then: the caller takes the general path)."""
        stored = cached.events
        new: dict[str, Event] = {}
        for event in events:
            kept = stored.get(event.event_id)
            if kept is None:
                union_into(new, (event,))
            elif preferred_copy(kept, event) is not kept:
                return None
        if not new:
            return MappingProxyType(stored)
        stored.update(new)
        log = cached.log
        try:
            if log is None or not log.extend(list(new.values())):
                log = LogText.of(stored.values())
            raw = log.text()
            self.storage.set(key, raw)
        except StorageFullError:
            for event_id in new:
                del stored[event_id]
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
        self.storage.set(
            snapshot_key(user_id), f'{{"v":{SNAPSHOT_FORMAT_VERSION},"snapshot":{body}}}'
        )

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

    def _write_sync_raw(self, user_id: str, state: LearningProgressSyncState) -> None:
        key = sync_key(user_id)
        encoder = self._sync_text.pop(key, None) or SyncText()
        raw = encoder.encode(state)
        self.storage.set(key, raw)  # on StorageFullError the encoder is dropped: it is ahead
        self._sync_cache[key] = (raw, state)
        self._sync_text[key] = encoder

    def write_sync(
        self, user_id: str, state: LearningProgressSyncState, *, reset_cursor: bool = False
    ) -> LearningProgressSyncState:
        """Store ``state`` merged with what is stored (see :func:`merge_sync_states`) and
        return the merge; ``reset_cursor`` drops the stored cursor too (the server rejected
        it). When only new entries were added since this store's last write, only those are
        encoded."""
        merged = merge_sync_states(state, self.read_sync(user_id))
        if reset_cursor:
            merged = merged.model_copy(update={"last_synced_cursor": None})
        self._write_sync_raw(user_id, merged)
        return merged

    # ------------------------------------------------------------------ the early-action queue

    def read_queue(self) -> list[QueuedAction]:
        """Every readable queued action (:mod:`.queue_format`), in key order. An unreadable
        value is set aside and its key removed; the key stays when storage is too full to set
        it aside (the value is reported either way)."""
        actions: list[QueuedAction] = []
        for key in sorted(filter(is_queue_key, self.storage.keys())):
            raw = self.storage.get(key)
            if raw is None:
                continue  # another tab took it in meanwhile
            action = decode_queued(key, raw)
            if isinstance(action, QueuedAction):
                actions.append(action)
            elif self._set_aside(key, raw, action, strict=False):
                self.storage.remove(key)
        return actions

    def remove_queued(self, actions: Iterable[QueuedAction]) -> None:
        """Remove the keys of queued actions whose events a stored log now holds."""
        for action in actions:
            self.storage.remove(action.key)

    # ------------------------------------------------------------------ guest keys

    def clear_guest(self) -> None:
        """Remove the guest log and snapshot cache (after their events reached the server)."""
        self.remove_events(None)
        self.remove_snapshot(None)
