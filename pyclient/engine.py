"""The engine's synchronous transitions: the local log, optimistic updates, persistence, the
status, identity and the steps of a sync (spec §6 to §8). Nothing here awaits: the sync worker
(:mod:`pyclient.worker`) awaits the network between these steps, and the driver owns the timer
(sans-I/O in the aioquic manner: after every call it asks :meth:`next_wakeup_ms`).

Rules in one place:

- ``record*`` builds an event (UUID ``eventId``, ``occurredAt`` in UTC ms, strictly after this
  client's previous event even if the clock steps back, the stored ``clientId``), adds it to the
  log, marks it ``local``, brings the snapshot forward (:func:`~pyclient.core.reducer.
  bring_forward`), persists and, when signed in, schedules a sync ``debounce_ms`` later.
- The log in memory is written to storage as the events that changed since the last write
  (:meth:`LocalStore.add_events` unites them with what is stored, writes back what a racing
  tab's write dropped, and seals the head into a segment when it is full). While a reload
  started from its start point has not read the stored log yet, new events are kept in the
  early-action queue instead, and written to the log once it is read
  (:meth:`~pyclient.session.SessionEngine._queue_unwritten`).
- Storage full: the engine keeps working in memory, shows ``storageWarning``, marks the
  unsaved events ``error`` (and remembers which entries it marked), deletes nothing, and
  retries the write on the next change; once a write succeeds those entries are ``local``.
- Bootstrap (spec §6.1, :meth:`begin_session`): the guest and the user's logs are read and
  united (guest events are copied into the user's log as ``local``), updates recorded meanwhile
  are queued (and stored at once, so a reload loses nothing) and replayed on top of the merged
  remote log; the guest keys are cleared only once every guest event reached the server.
- Sign-out switches to the guest log; the user's keys are left untouched.
- An action the page queued before the client was ready is taken in as if recorded now, its
  event unchanged, or goes to its own user's stored log (:meth:`~pyclient.session.
  SessionEngine.ingest_queue`).
- Sync metadata lives only in storage: PUT bodies carry ``clientUpdatedAt`` and events only.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from .core.eventlog import OrderKey, union_into
from .core.models import (
    EVENT_TYPES,
    Event,
    KnownEvent,
    LearningGuestProgress,
    LearningProgressSyncEntry,
    LearningProgressSyncState,
    SyncStatus,
)
from .core.reducer import bring_forward, reduce_events
from .core.sync_state import (
    PENDING_STATUSES,
    EngineStatus,
    count_statuses,
    engine_state,
    mark_local,
    recover_interrupted,
    restore_synced,
)
from .core.timestamps import format_instant, instant_of
from .errors import InvalidEventsError, StorageFullError
from .http.api_client import Session
from .ports import Clock, Storage
from .store.local_store import LocalStore

__all__ = ["DEBOUNCE_MS", "STORAGE_FULL_MESSAGE", "ProgressEngine"]

#: Delay between a local update and the sync it triggers (spec §6.3: 1 to 2 s).
DEBOUNCE_MS: Final = 1500
#: The error message of events that could not be written to local storage.
STORAGE_FULL_MESSAGE: Final = "not saved on this device: storage is full"

Listener = Callable[[LearningGuestProgress, "EngineStatus"], None]

_KNOWN_EVENT: TypeAdapter[KnownEvent] = TypeAdapter(KnownEvent)


class ProgressEngine:
    """One client (one tab): the current identity, its log, snapshot and sync metadata."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        new_id: Callable[[], str] | None = None,
        debounce_ms: int = DEBOUNCE_MS,
        online: bool = True,
    ) -> None:
        self.clock = clock
        self.store = LocalStore(storage, clock, on_warning=self._on_store_warning)
        self.debounce_ms = debounce_ms
        self._new_id = new_id if new_id is not None else (lambda: str(uuid.uuid4()))
        self._listeners: list[Listener] = []
        self._corrupt_warning: str | None = None
        self._full_warning: str | None = None
        self.client_id = self.store.client_id(self._new_id)
        self._session: Session | None = None
        #: Bumped at each sign-in and sign-out: a sync begun under another one is abandoned.
        #: (A new token for the same user is no new identity: its sync goes on.)
        self._identity = 0
        self._online = online
        self._last_stamp_ms = 0
        self._reset_identity_state()
        self._load(None)

    def _reset_identity_state(self) -> None:
        """What belongs to one session's syncing: reset on sign-in and sign-out."""
        self._syncing = False
        self._session_expired = False
        self._held: set[str] = set()  # ids held by a permanent error until a manual sync
        self._failures = 0
        self._error_message: str | None = None
        # What the last failed sync ran into (EngineStatus.error_code, .error_status).
        self._error_code: str | None = None
        self._error_status: int | None = None
        self._debounce_at: int | None = None
        self._retry_at: int | None = None
        self._bootstrapping = False
        self._queue: list[Event] = []
        self._guest_ids: set[str] = set()

    def _load(self, user_id: str | None) -> None:
        """Switch memory to a stored log (guest or user)."""
        self._load_empty(user_id)
        stored = self.store.read_events(user_id)
        self._merge(stored.values(), stored=True)
        self._mark_own_unsynced(stored.values())

    def _load_empty(self, user_id: str | None) -> None:
        """Switch memory to an empty log of ``user_id``, with its stored sync metadata."""
        self._events: dict[str, Event] = {}
        self._unwritten: dict[str, Event] = {}  # changed in memory since the last log write
        self._snapshot = reduce_events([])
        self._last_key: OrderKey | None = None
        self._unpersisted: set[str] = set()  # local events not yet written
        self._replacements = 0  # how many times a stored copy was replaced by another
        self._full_marked: dict[str, LearningProgressSyncEntry] = {}  # set "error" by _full
        # (an events dict of a sync state, its count per status): states are immutable, so
        # ``status`` counts entries once per dict; _mark_local_fresh carries it forward.
        self._counts: tuple[Mapping[str, Any], dict[SyncStatus, int]] | None = None
        self._sync = (
            LearningProgressSyncState()
            if user_id is None
            else recover_interrupted(self.store.read_sync(user_id))
        )

    # ------------------------------------------------------------------ reading state

    @property
    def user_id(self) -> str | None:
        return None if self._session is None else self._session.user_id

    @property
    def session(self) -> Session | None:
        return self._session

    @property
    def snapshot(self) -> LearningGuestProgress:
        return self._snapshot

    @property
    def events(self) -> list[Event]:
        """The current log (guest or user), in insertion order."""
        return list(self._events.values())

    @property
    def sync_state(self) -> LearningProgressSyncState:
        return self._sync

    @property
    def online(self) -> bool:
        return self._online

    @property
    def bootstrapping(self) -> bool:
        return self._bootstrapping

    @property
    def status(self) -> EngineStatus:
        user = self.user_id
        warning = self._full_warning or self._corrupt_warning
        full = None if self._full_warning is None else "storage_full"
        if user is None:
            state = engine_state(signed_in=False, storage_full=full is not None)
            return EngineStatus(
                state, len(self._events), None, self._full_warning, warning, None, full
            )
        counts = self._status_counts()
        pending = sum(counts[status] for status in PENDING_STATUSES)
        state = engine_state(
            signed_in=True,
            session_expired=self._session_expired,
            syncing=self._syncing,
            offline=not self._online,
            failing=bool(counts["error"] or self._full_warning or self._error_message),
            pending=pending > 0,
        )
        message = self._error_message or (self._full_warning if state == "error" else None)
        failed = state == "error" and self._error_code is not None
        return EngineStatus(
            state,
            pending,
            self._sync.last_successful_sync_at,
            message,
            warning,
            user,
            full or (self._error_code if failed else None),
            None if full or not failed else self._error_status,
        )

    def _status_counts(self) -> dict[SyncStatus, int]:
        events = self._sync.events
        cached = self._counts
        if cached is not None and cached[0] is events:
            return cached[1]
        counts = count_statuses(self._sync)
        self._counts = (events, counts)
        return counts

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(snapshot, status)`` on every change; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _notify(self) -> None:
        snapshot, status = self._snapshot, self.status
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a broken listener must not break the engine
                listener(snapshot, status)

    def next_wakeup_ms(self) -> int | None:
        """When :meth:`on_timer` wants to run next (wall-clock ms), or ``None``."""
        if self._syncing or self._session is None or self._session_expired:
            return None
        times = [t for t in (self._debounce_at, self._retry_at) if t is not None]
        return min(times) if times else None

    # ------------------------------------------------------------------ local updates

    def record(self, event_type: str, payload: Mapping[str, Any] | None = None) -> str:
        """Record a new event of a known type; returns its eventId."""
        if event_type not in EVENT_TYPES:
            raise InvalidEventsError(f"unknown event type {event_type!r}", [])
        stamp = max(self.clock.now_ms(), self._last_stamp_ms + 1)
        self._last_stamp_ms = stamp
        data: dict[str, Any] = {
            "eventId": self._new_id(),
            "occurredAt": format_instant(stamp * 1000),
            "clientId": self.client_id,
            "type": event_type,
        }
        if payload is not None:
            data["payload"] = dict(payload)
        try:
            event = _KNOWN_EVENT.validate_python(data)
        except ValidationError as exc:
            errors = [dict(e) for e in exc.errors(include_url=False, include_context=False)]
            raise InvalidEventsError(f"invalid event: {exc}", errors) from None
        self._add_local([event])
        return event.event_id

    def record_progress(
        self,
        content_id: str,
        status: str,
        *,
        score: float | None = None,
        content_version: str | None = None,
        interaction: Mapping[str, Any] | None = None,
    ) -> str:
        """``content.progressed``; ``interaction`` as on the wire (``interactionId``, ``state``)."""
        payload: dict[str, Any] = {"contentId": content_id, "status": status}
        if score is not None:
            payload["score"] = score
        if content_version is not None:
            payload["contentVersion"] = content_version
        if interaction is not None:
            payload["interaction"] = dict(interaction)
        return self.record("content.progressed", payload)

    def complete_onboarding(self, path_id: str) -> str:
        return self.record("onboarding.completed", {"pathId": path_id})

    def reset_onboarding(self) -> str:
        return self.record("onboarding.reset")

    def set_active_path(self, path_id: str | None) -> str:
        return self.record("activePath.set", {"pathId": path_id})

    def reset_progress(self) -> str:
        return self.record("progress.reset")

    def _add_local(self, events: list[Event]) -> None:
        ids = [e.event_id for e in events]
        self._merge(events)
        if self._session is not None:
            self._mark_local_fresh(ids)
            if not self._session_expired:
                self._debounce_at = self.clock.now_ms() + self.debounce_ms
        if self._bootstrapping:
            self._queue.extend(events)
        self._unpersisted.update(ids)
        self._persist()
        self._notify()

    def _mark_local_fresh(self, ids: list[str]) -> None:
        """``mark_local`` on the ids of events just added, the status counts carried over."""
        old = self._sync.events
        self._sync = mark_local(self._sync, ids)
        new = self._sync.events
        cached = self._counts
        # equal sizes: every id was new (the keys of ``new`` are those of ``old`` and ``ids``)
        if cached is not None and cached[0] is old and len(new) == len(old) + len(set(ids)):
            counts = dict(cached[1])
            counts["local"] += len(new) - len(old)
            self._counts = (new, counts)

    # ------------------------------------------------------------------ log and snapshot

    def _merge(self, events: Iterable[Event], *, stored: bool = False) -> list[Event]:
        """Union events into the log and bring the snapshot forward; returns the new ones.
        ``stored``: they were read from storage (nothing to write back)."""
        fresh, replaced = union_into(self._events, events)
        if not fresh and not replaced:
            return fresh
        if replaced:
            self._replacements += 1  # a reduction running meanwhile starts again
        if not stored:
            self._unwritten.update((e.event_id, e) for e in (*fresh, *replaced))
        self._snapshot, self._last_key, _ = bring_forward(
            None if replaced else self._snapshot, self._last_key, fresh, self._events.values
        )
        self._note_own_stamps(fresh)
        return fresh

    def _note_own_stamps(self, events: Iterable[Event]) -> None:
        """This client's next ``occurredAt`` comes after every event of its own seen so far."""
        self._last_stamp_ms = max(self._last_stamp_ms, self._latest_own_ms(events))

    def _latest_own_ms(self, events: Iterable[Event]) -> int:
        """The latest ``occurredAt`` (ms) of this client's own ``events``, at least 0."""
        own = (instant_of(e.occurred_at) // 1000 for e in events if e.client_id == self.client_id)
        return max(0, max(own, default=0))

    def _mark_own_unsynced(self, events: Iterable[Event]) -> None:
        """Events of this client with no sync entry are ``synced`` when they belong to a
        segment the stored metadata keeps as all synced (their entries are not stored), and
        otherwise ``local`` (a tab's write raced its metadata, or the metadata was lost): the
        server dedupes a repeat."""
        user = self.user_id
        if user is None:
            return
        missing = [
            e.event_id
            for e in events
            if e.client_id == self.client_id
            and e.type in EVENT_TYPES
            and e.event_id not in self._sync.events
        ]
        if not missing:
            return
        synced = self.store.in_synced_segments(user, missing)
        if synced:
            self._sync = restore_synced(self._sync, synced)
            missing = [i for i in missing if i not in synced]
        if missing:
            self._sync = mark_local(self._sync, missing)

    # ------------------------------------------------------------------ persistence

    def _on_store_warning(self, message: str) -> None:
        self._corrupt_warning = message

    def _take_stored(self, stored: Mapping[str, Event]) -> None:
        """Take in what other tabs stored (the store writes back, with its next write, what
        a racing write of theirs dropped)."""
        if stored:
            self._mark_own_unsynced(self._merge(stored.values(), stored=True))

    def _persist(self) -> None:
        """Write log changes, snapshot cache and sync metadata; on quota, go on in memory."""
        user = self.user_id
        try:
            self._take_stored(self.store.add_events(user, list(self._unwritten.values())))
            self._unwritten = {}
            self._log_written()
            self.store.write_snapshot(user, self._snapshot)
            self._snapshot_cached()
            if user is not None:
                self._sync = self.store.write_sync(user, self._sync)
        except StorageFullError:
            self._storage_full()
            return
        if self._full_warning is not None or self._unpersisted:
            self._storage_recovered()

    def _log_written(self) -> None:
        """The log was written (a hook: segments may have been sealed)."""

    def _snapshot_cached(self) -> None:
        """The snapshot cache was written with the log (a hook)."""

    def _persist_sync(self, *, reset_cursor: bool = False) -> None:
        user = self.user_id
        if user is None:
            return
        try:
            self._sync = self.store.write_sync(user, self._sync, reset_cursor=reset_cursor)
        except StorageFullError:
            self._storage_full()

    def _storage_full(self) -> None:
        count = len(self._unpersisted)
        self._full_warning = (
            f"Storage is full: {count} change(s) are kept in memory only; "
            "free some space or sync to keep them."
        )
        if self._session is not None and self._unpersisted:
            entries = dict(self._sync.events)
            for event_id in self._unpersisted:
                entry = entries.get(event_id)
                if entry is not None and entry.status in ("local", "error"):
                    marked = entry.model_copy(
                        update={"status": "error", "error_message": STORAGE_FULL_MESSAGE}
                    )
                    entries[event_id] = self._full_marked[event_id] = marked
            self._sync = self._sync.model_copy(update={"events": entries})

    def _storage_recovered(self) -> None:
        ids, self._unpersisted = self._unpersisted, set()
        marked, self._full_marked = self._full_marked, {}
        self._full_warning = None
        if self._session is None:
            return
        # Only entries still as the storage-full path left them: a sync may have moved others.
        back = [i for i in ids if i in marked and self._sync.events.get(i) == marked[i]]
        if back:
            self._sync = mark_local(self._sync, back)
            self._persist_sync()
            if not self._session_expired:
                self._debounce_at = self.clock.now_ms() + self.debounce_ms

    def _now_iso(self) -> str:
        return format_instant(self.clock.now_ms() * 1000)
