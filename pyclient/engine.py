"""The sync engine: the local log, optimistic updates, bootstrap, the sync worker (spec §6 to §7).

Pure Python, sans-I/O in the aioquic manner: storage, HTTP, time and the cross-tab lock come in
through ports (:mod:`pyclient.ports`), and the engine owns no timer. After every call the
driver asks :meth:`SyncEngine.next_wakeup_ms` and arms one timer; when it fires it calls
:meth:`SyncEngine.on_timer`. The driver also reports the outside world: :meth:`set_online`,
:meth:`on_visible`, :meth:`on_storage_change`.

Rules in one place:

- ``record*`` builds an event (UUID ``eventId``, ``occurredAt`` in UTC ms, strictly after this
  client's previous event even if the clock steps back, the stored ``clientId``), adds it to the
  log, marks it ``local``, applies it to the snapshot (incrementally when it sorts last), persists
  and, when signed in, schedules a sync ``debounce_ms`` later.
- A sync (debounce, visible, online, manual ``sync()``) holds the lock, re-reads storage, moves
  pending events to ``syncing``, PUTs them in batches, GETs since the cursor (following
  ``hasMore``), merges by eventId and records success. Automatic syncs send ``local`` events
  and those in ``error`` after a retryable failure; a manual ``sync()`` also sends those held by
  a permanent error.
- Failures: 408/429/5xx/network → ``error``, retry after ``RETRY_DELAYS_MS[n-1]`` (or the
  server's ``Retry-After`` when longer), at most ``MAX_RETRIES`` times; then nothing until the
  next trigger, which starts the schedule over. Other 4xx → ``error``, held until a manual
  ``sync()`` or sign-out. 401 → ``session_expired``: events go back to ``local``, no retry until
  a new ``sign_in``. ``invalid_cursor`` → the cursor is dropped and the next pull is complete.
- Offline (``set_online(False)``): no request is made, events stay ``local``; ``online`` syncs.
- Bootstrap (:meth:`sign_in`, spec §6.1): the guest and the user's logs are read and united
  (guest events are copied into the user's log as ``local``), updates recorded meanwhile are
  queued (and stored at once, so a reload loses nothing), the remote log is fetched in full and
  merged, the queue is replayed on top, the result persisted; then pending events are pushed and
  the guest keys are cleared only once every guest event was carried by a successful PUT.
- Storage full: the engine keeps working in memory, shows ``storageWarning``, marks the
  unsaved events ``error``, deletes nothing, and retries the write on the next change.
- Sign-out switches to the guest log; the user's keys are left untouched.
- Sync metadata lives only in storage: PUT bodies carry ``clientUpdatedAt`` and events only.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import TypeAdapter, ValidationError

from .core.models import (
    EVENT_TYPES,
    Event,
    KnownEvent,
    LearningGuestProgress,
    LearningProgressSyncState,
)
from .core.reducer import apply_event, event_order_key, reduce_events
from .core.sync_state import (
    finish_sync_failure,
    finish_sync_success,
    mark_local,
    next_retry_delay_ms,
    recover_interrupted,
    start_sync,
)
from .core.timestamps import format_instant, instant_of
from .errors import (
    ApiError,
    InvalidEventsError,
    NetworkError,
    SessionExpiredError,
    StorageFullError,
)
from .http.api_client import ApiClient, Session, batch_events
from .ports import Clock, NoLock, Storage, SyncLock, Transport
from .store.local_store import (
    LocalStore,
    events_key,
    merge_sync_states,
    preferred_copy,
    sync_key,
)

__all__ = ["DEBOUNCE_MS", "STORAGE_FULL_MESSAGE", "EngineState", "EngineStatus", "SyncEngine"]

#: Delay between a local update and the sync it triggers (spec §6.3: 1 to 2 s).
DEBOUNCE_MS: Final = 1500
#: The error message of events that could not be written to local storage.
STORAGE_FULL_MESSAGE: Final = "not saved on this device: storage is full"

EngineState = Literal["synced", "local", "syncing", "error", "offline", "session_expired"]
Listener = Callable[[LearningGuestProgress, "EngineStatus"], None]

_KNOWN_EVENT: TypeAdapter[KnownEvent] = TypeAdapter(KnownEvent)


@dataclass(frozen=True)
class EngineStatus:
    """What the UI shows about syncing (DESIGN §8 ``client.status``)."""

    state: EngineState
    pending: int
    last_successful_sync_at: str | None
    error_message: str | None
    storage_warning: str | None
    user_id: str | None

    def to_json(self) -> dict[str, Any]:
        """The camelCase object of the JS API."""
        return {
            "state": self.state,
            "pending": self.pending,
            "lastSuccessfulSyncAt": self.last_successful_sync_at,
            "errorMessage": self.error_message,
            "storageWarning": self.storage_warning,
            "userId": self.user_id,
        }


class _Abandoned(Exception):
    """The identity changed while a sync awaited: drop its results."""


class SyncEngine:
    """One client (one tab): the current identity, its log, snapshot and sync metadata."""

    def __init__(
        self,
        storage: Storage,
        transport: Transport,
        clock: Clock,
        *,
        base_url: str = "/api/v1",
        lock: SyncLock | None = None,
        new_id: Callable[[], str] | None = None,
        debounce_ms: int = DEBOUNCE_MS,
        online: bool = True,
    ) -> None:
        self.clock = clock
        self.store = LocalStore(storage, clock, on_warning=self._on_store_warning)
        self.api = ApiClient(transport, base_url, clock)
        self.lock: SyncLock = lock if lock is not None else NoLock()
        self.debounce_ms = debounce_ms
        self._new_id = new_id if new_id is not None else (lambda: str(uuid.uuid4()))
        self._listeners: list[Listener] = []
        self._corrupt_warning: str | None = None
        self._full_warning: str | None = None
        self.client_id = self.store.client_id(self._new_id)
        self._session: Session | None = None
        self._events: dict[str, Event] = {}
        # False only while ``_events`` is what the last successful write stored plus fresh
        # local events at its end: the store may then skip comparing every stored event.
        self._log_dirty = True
        self._snapshot = reduce_events([])
        self._last_key: tuple[int, str] | None = None
        self._sync = LearningProgressSyncState()
        # (base, derived): ``derived`` is ``base`` plus new entries at the end of its events
        # (mark_local of fresh ids only); the store may then write just those (O(new)).
        self._sync_appended: tuple[LearningProgressSyncState, LearningProgressSyncState] | None
        self._sync_appended = None
        # (an events dict of a sync state, its count per status): states are immutable, so
        # ``status`` counts pending entries once per dict; _add_local carries it forward.
        self._counts: tuple[dict[str, Any], dict[str, int]] | None = None
        self._unpersisted: set[str] = set()
        self._online = online
        self._session_expired = False
        self._syncing = False
        self._bootstrapping = False
        self._queue: list[Event] = []
        self._guest_ids: set[str] = set()
        self._held: set[str] = set()
        self._failures = 0
        self._error_message: str | None = None
        self._debounce_at: int | None = None
        self._retry_at: int | None = None
        self._last_stamp_ms = 0
        self._load(None)

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
        if user is None:
            return EngineStatus(
                "error" if self._full_warning else "local",
                len(self._events),
                None,
                self._full_warning,
                warning,
                None,
            )
        counts = self._status_counts()
        pending = counts["local"] + counts["syncing"] + counts["error"]
        state: EngineState
        if self._session_expired:
            state = "session_expired"
        elif self._syncing:
            state = "syncing"
        elif not self._online:
            state = "offline"
        elif counts["error"] or self._full_warning or self._error_message:
            state = "error"
        elif pending:
            state = "local"
        else:
            state = "synced"
        message = self._error_message or (self._full_warning if state == "error" else None)
        return EngineStatus(
            state, pending, self._sync.last_successful_sync_at, message, warning, user
        )

    def _status_counts(self) -> dict[str, int]:
        events = self._sync.events
        cached = self._counts
        if cached is not None and cached[0] is events:
            return cached[1]
        counts = {"local": 0, "syncing": 0, "error": 0, "synced": 0}
        for entry in events.values():
            counts[entry.status] += 1
        self._counts = (events, counts)
        return counts

    def _mark_local_fresh(self, ids: list[str]) -> None:
        """``mark_local`` on the ids of events just added; O(len(ids)) bookkeeping."""
        before = self._sync
        old = before.events
        self._sync = mark_local(before, ids)
        new = self._sync.events
        if not all(i not in old for i in ids) or len(new) != len(old) + len(set(ids)):
            self._sync_appended = None
            return
        appended = self._sync_appended
        base = appended[0] if appended is not None and appended[1] is before else before
        self._sync_appended = (base, self._sync)
        cached = self._counts
        if cached is not None and cached[0] is old:
            counts = dict(cached[1])
            counts["local"] += len(new) - len(old)
            self._counts = (new, counts)

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

    # ------------------------------------------------------------------ timers

    def next_wakeup_ms(self) -> int | None:
        """When :meth:`on_timer` wants to run next (wall-clock ms), or ``None``."""
        if self._syncing or self._session is None or self._session_expired:
            return None
        times = [t for t in (self._debounce_at, self._retry_at) if t is not None]
        return min(times) if times else None

    async def on_timer(self, now_ms: int) -> None:
        """The driver's timer fired: run the debounced sync or the retry that is due."""
        debounce_due = self._debounce_at is not None and self._debounce_at <= now_ms
        retry_due = self._retry_at is not None and self._retry_at <= now_ms
        if debounce_due:
            await self._trigger()
        elif retry_due:
            await self._run(manual=False)

    # ------------------------------------------------------------------ triggers

    async def _trigger(self) -> None:
        """A trigger (update, visible, online): once retries ran out, the schedule restarts."""
        if next_retry_delay_ms(self._failures) is None:
            self._failures = 0
        await self._run(manual=False)

    async def sync(self) -> None:
        """Manual sync: also retries events held in ``error`` by a permanent failure."""
        self._held.clear()
        self._failures = 0
        await self._run(manual=True)

    async def on_visible(self) -> None:
        """The page became visible."""
        await self._trigger()

    async def set_online(self, online: bool) -> None:
        """The browser went online or offline (``navigator.onLine``, ``online``/``offline``)."""
        was = self._online
        self._online = online
        if online and not was:
            await self._trigger()
        else:
            self._notify()

    def on_storage_change(self, key: str | None) -> None:
        """Another tab changed storage (``storage`` event; ``None``: storage was cleared)."""
        user = self.user_id
        watched = {events_key(user)} | ({sync_key(user)} if user is not None else set())
        if key is not None and key not in watched:
            return
        if self._reload():
            self._notify()

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
        dirty = self._log_dirty
        if len(self._merge(events)) == len(events):
            self._log_dirty = dirty  # only fresh events, appended at the end of the log
        if self._session is not None:
            self._mark_local_fresh(ids)
            if not self._session_expired:
                self._debounce_at = self.clock.now_ms() + self.debounce_ms
        if self._bootstrapping:
            self._queue.extend(events)
        self._unpersisted.update(ids)
        self._persist()
        self._notify()

    # ------------------------------------------------------------------ log and snapshot

    def _merge(self, events: Iterable[Event]) -> list[Event]:
        """Union events into the log and bring the snapshot up to date; returns the new ones."""
        fresh: list[Event] = []
        replaced = False
        self._log_dirty = True
        for event in events:
            kept = self._events.get(event.event_id)
            if kept is None:
                self._events[event.event_id] = event
                fresh.append(event)
            else:
                chosen = preferred_copy(kept, event)
                if chosen is not kept:
                    self._events[event.event_id] = chosen
                    replaced = True
        if not fresh and not replaced:
            return fresh
        ordered = sorted(fresh, key=event_order_key)
        keys = [event_order_key(e) for e in ordered]
        if not replaced and (self._last_key is None or keys[0] > self._last_key):
            snapshot = self._snapshot
            for event in ordered:
                snapshot = apply_event(snapshot, event)
            self._snapshot = snapshot
        else:
            self._snapshot = reduce_events(self._events.values())
        if keys and (self._last_key is None or keys[-1] > self._last_key):
            self._last_key = keys[-1]
        self._note_own_stamps(fresh)
        return fresh

    def _note_own_stamps(self, events: Iterable[Event]) -> None:
        for event in events:
            if event.client_id == self.client_id:
                ms = instant_of(event.occurred_at) // 1000
                if ms > self._last_stamp_ms:
                    self._last_stamp_ms = ms

    def _mark_own_unsynced(self, events: Iterable[Event]) -> None:
        """Events of this client with no sync entry (a tab's write raced its metadata, or the
        metadata was lost) are ``local``: the server dedupes a repeat."""
        if self._session is None:
            return
        missing = [
            e.event_id
            for e in events
            if e.client_id == self.client_id
            and e.type in EVENT_TYPES
            and e.event_id not in self._sync.events
        ]
        if missing:
            self._sync = mark_local(self._sync, missing)

    def _load(self, user_id: str | None) -> None:
        """Switch memory to a stored log (guest or user)."""
        self._events = {}
        self._log_dirty = True
        self._snapshot = reduce_events([])
        self._last_key = None
        self._unpersisted = set()
        stored = self.store.read_events(user_id)
        self._sync = (
            LearningProgressSyncState()
            if user_id is None
            else recover_interrupted(self.store.read_sync(user_id))
        )
        self._merge(stored.values())
        self._mark_own_unsynced(stored.values())

    def _reload(self) -> bool:
        """Union what other tabs stored into memory; True when something changed."""
        user = self.user_id
        before = (len(self._events), self._sync)
        fresh = self._merge(self.store.read_events(user).values())
        if user is not None:
            self._sync = merge_sync_states(self._sync, self.store.read_sync(user))
            self._mark_own_unsynced(fresh)
        return bool(fresh) or before != (len(self._events), self._sync)

    # ------------------------------------------------------------------ persistence

    def _on_store_warning(self, message: str) -> None:
        self._corrupt_warning = message

    def _persist(self) -> None:
        """Write log, snapshot cache and sync metadata; on quota, keep going in memory."""
        user = self.user_id
        try:
            stored = self.store.write_events(user, self._events, appended_only=not self._log_dirty)
            self._log_dirty = False
            if len(stored) != len(self._events):
                fresh = self._merge(stored.values())  # another tab's events
                self._mark_own_unsynced(fresh)
            self.store.write_snapshot(user, self._snapshot)
            if user is not None:
                appended = self._sync_appended
                base = appended[0] if appended is not None and appended[1] is self._sync else None
                self._sync = self.store.write_sync(user, self._sync, appended_to=base)
                self._sync_appended = None
        except StorageFullError:
            self._log_dirty = True
            self._storage_full()
            return
        if self._full_warning is not None or self._unpersisted:
            self._storage_recovered()

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
                    entries[event_id] = entry.model_copy(
                        update={"status": "error", "error_message": STORAGE_FULL_MESSAGE}
                    )
            self._sync = self._sync.model_copy(update={"events": entries})

    def _storage_recovered(self) -> None:
        ids = self._unpersisted
        self._unpersisted = set()
        self._full_warning = None
        if self._session is None:
            return
        back = [
            i
            for i in ids
            if (entry := self._sync.events.get(i)) is not None
            and entry.status == "error"
            and entry.error_message == STORAGE_FULL_MESSAGE
        ]
        if back:
            self._sync = mark_local(self._sync, back)
            self._persist_sync()
            if not self._session_expired:
                self._debounce_at = self.clock.now_ms() + self.debounce_ms

    # ------------------------------------------------------------------ identity

    async def login(self, email: str, password: str) -> Session:
        """``POST /auth/login`` then :meth:`sign_in` (wrong credentials: SessionExpiredError)."""
        session = await self.api.login(email, password)
        await self.sign_in(session)
        return session

    async def sign_in(self, session: Session) -> None:
        """Become ``session``'s user and bootstrap (spec §6.1); also after a reload."""
        if self._session is not None and self._session.user_id != session.user_id:
            self.sign_out()
        self._session = session  # a sync still running for an older session is abandoned
        self._syncing = False
        self._session_expired = False
        self._held.clear()
        self._failures = 0
        self._error_message = None
        self._debounce_at = self._retry_at = None
        guest = self.store.read_events(None)
        self._load(session.user_id)
        self._guest_ids = set(guest)
        copied = self._merge(guest.values())
        self._sync = mark_local(self._sync, [e.event_id for e in guest.values()])
        self._unpersisted.update(e.event_id for e in copied)
        self._bootstrapping = True
        self._queue = []
        self._persist()
        self._notify()
        await self._run(manual=False, bootstrap=True)

    def sign_out(self) -> None:
        """Back to the guest log; the user's stored keys are left as they are."""
        self._session = None
        self._syncing = False
        self._session_expired = False
        self._held.clear()
        self._failures = 0
        self._error_message = None
        self._debounce_at = self._retry_at = None
        self._bootstrapping = False
        self._queue = []
        self._guest_ids = set()
        self._load(None)
        self._notify()

    def _end_bootstrap(self) -> None:
        """Replay updates queued during bootstrap on top of the merged log."""
        if not self._bootstrapping:
            return
        self._bootstrapping = False
        queued, self._queue = self._queue, []
        self._merge(queued)
        if self._session is not None:
            self._sync = mark_local(self._sync, [e.event_id for e in queued])

    def _maybe_clear_guest(self) -> None:
        """Clear guest keys once every guest event was carried by a successful PUT."""
        if not self._guest_ids:
            return
        entries = self._sync.events
        if not all(
            (entry := entries.get(i)) is not None and entry.status == "synced"
            for i in self._guest_ids
        ):
            return
        guest = self.store.read_events(None)
        extra = [e for e in guest.values() if e.event_id not in self._guest_ids]
        if extra:  # a guest tab recorded meanwhile: carry those over first
            self._guest_ids.update(e.event_id for e in extra)
            self._add_local(extra)
            return
        self.store.clear_guest()
        self._guest_ids = set()

    # ------------------------------------------------------------------ the sync worker

    def _now_iso(self) -> str:
        return format_instant(self.clock.now_ms() * 1000)

    def _check(self, session: Session) -> None:
        if self._session is not session:
            raise _Abandoned

    async def _run(self, *, manual: bool, bootstrap: bool = False) -> None:
        session = self._session
        if session is None or self._session_expired:
            return
        if not self._online:
            self._end_bootstrap()
            self._notify()
            return
        if self._syncing:
            self._debounce_at = self.clock.now_ms()  # run again once this sync is over
            return
        self._syncing = True
        self._debounce_at = self._retry_at = None
        sending: list[str] = []
        done: set[str] = set()
        self._notify()
        try:
            async with self.lock.hold(sync_key(session.user_id)):
                self._check(session)
                self._reload()
                now = self._now_iso()
                cursor: str | None = None
                if bootstrap:
                    pulled = await self.api.pull(session.token)
                    self._check(session)
                    self._merge(pulled.events)
                    self._end_bootstrap()
                    cursor = pulled.cursor
                    self._persist()
                if not manual:
                    transient = [
                        i
                        for i, entry in self._sync.events.items()
                        if entry.status == "error" and i not in self._held
                    ]
                    self._sync = mark_local(self._sync, transient)
                self._sync, sending = start_sync(self._sync, now, retry_errors=manual)
                self._persist_sync()
                events = sorted(
                    (self._events[i] for i in sending if i in self._events), key=event_order_key
                )
                for batch in batch_events(events):
                    await self.api.put_progress(session.token, batch, now)
                    self._check(session)
                    batch_ids = [e.event_id for e in batch]
                    done.update(batch_ids)
                    self._sync = finish_sync_success(self._sync, batch_ids, self._now_iso())
                    self._persist_sync()
                    self._maybe_clear_guest()
                if not bootstrap:
                    pulled = await self.api.pull(session.token, self._sync.last_synced_cursor)
                    self._check(session)
                    self._merge(pulled.events)
                    cursor = pulled.cursor
                leftover = [i for i in sending if i not in done]  # ids no longer in the log
                self._sync = finish_sync_success(self._sync, leftover, self._now_iso(), cursor)
                self._failures = 0
                self._error_message = None
                self._persist()
                self._maybe_clear_guest()
        except _Abandoned:
            return
        except SessionExpiredError as exc:
            self._session_expired = True
            self._error_message = f"Session expired: sign in again ({exc.message})"
            self._sync = recover_interrupted(self._sync)
            self._persist_sync()
        except (ApiError, NetworkError) as exc:
            self._failed(exc, [i for i in sending if i not in done])
        finally:
            if self._session is session:
                self._syncing = False
                self._end_bootstrap()
            self._notify()

    def _failed(self, exc: ApiError | NetworkError, ids: list[str]) -> None:
        message = exc.message if isinstance(exc, ApiError) else str(exc) or "network error"
        self._sync = finish_sync_failure(self._sync, ids, self._now_iso(), message)
        retryable = isinstance(exc, NetworkError) or exc.retryable
        reset_cursor = isinstance(exc, ApiError) and exc.code == "invalid_cursor"
        if reset_cursor:
            self._sync = self._sync.model_copy(update={"last_synced_cursor": None})
            retryable = True
        self._error_message = message
        if retryable:
            self._failures += 1
            delay = next_retry_delay_ms(self._failures)
            if delay is not None:
                after = exc.retry_after_ms if isinstance(exc, ApiError) else None
                self._retry_at = self.clock.now_ms() + max(delay, after or 0)
        else:
            self._held.update(ids)
        self._persist_sync(reset_cursor=reset_cursor)
