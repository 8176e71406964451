"""The signed-in side of the engine, as synchronous transitions: identity switches and the
bootstrap (spec §6.1), what other tabs and the page stored (logs, sync metadata, the early-action
queue), and each step of a sync (spec §6.3, §8.1).
The sync worker (:mod:`pyclient.worker`) runs these steps and awaits the network between them;
no step awaits, so no state change is ever half done while a request is in flight.

The early-action queue (DESIGN §5, :meth:`SessionEngine.ingest_queue`): an action of the current
identity (its user, or the guest) joins the log as a recorded one does, its event unchanged;
one the log already holds (another tab took it in first) changes nothing. Another identity's
action is added to that identity's stored log, where it is ``local`` once that log is loaded
(its ``clientId`` is this profile's). A key is removed only once a stored log holds its event:
when storage is full it stays (the durable copy) and the event lives in memory until a write
succeeds. An unreadable value is set aside by the store and reported in the status. The client
queues its own records so, too, while a reload started from its start point has not read the
stored log yet (:meth:`SessionEngine._queue_unwritten`).

A sync: :meth:`begin_sync` (one at a time; offline or expired: none), :meth:`start_push`
(pending events move to ``syncing``; automatic syncs also re-send ``error`` events not held by
a permanent failure), :meth:`batch_sent` after each successful PUT, :meth:`pulled` and
:meth:`finish_sync` (cursor, ``synced``, persisted); or :meth:`sync_failed` /
:meth:`session_expired`; :meth:`end_sync` always. What a failure does next is
:data:`~pyclient.core.sync_state.FAILURE_HANDLING`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from .core.eventlog import event_order_key
from .core.models import EVENT_TYPES, Event, KnownEvent
from .core.sync_state import (
    FAILURE_HANDLING,
    FailureKind,
    finish_sync_failure,
    finish_sync_success,
    mark_local,
    next_retry_delay_ms,
    recover_interrupted,
    release_unsent,
    start_sync,
)
from .errors import ApiError, NetworkError, SessionExpiredError, StorageFullError
from .history import HistoryEngine
from .http.api_client import Session
from .store.keys import events_key, sync_key
from .store.queue_format import QueuedAction, encode_queued, is_queue_key
from .store.sync_format import merge_sync_states

__all__ = ["SessionEngine", "SyncRun"]


@dataclass
class SyncRun:
    """One sync in progress: for whom, what it sends, what reached the server, its cursor."""

    session: Session
    identity: int = 0  # the engine's identity (sign-in/sign-out count) it began under
    sending: list[str] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    cursor: str | None = None


class SessionEngine(HistoryEngine):
    """:class:`~pyclient.history.HistoryEngine` with a signed-in user, other tabs, and the
    steps of a sync."""

    # ------------------------------------------------------------------ other tabs

    def _reload(self) -> bool:
        """Union what other tabs stored into memory; True when something changed.

        Sync metadata is read before the log: a tab writes its log before its metadata, so
        every entry read then has its event in the log read after it. Events of memory that
        the stored log lacks are written again with the next write."""
        user = self.user_id
        before = (len(self._events), self._sync)
        stored_sync = None if user is None else self.store.read_sync(user)
        fresh = self._merge(self.store.stored_changes(user).values(), stored=True)
        if stored_sync is not None and user is not None:
            merged = merge_sync_states(self._sync, stored_sync)
            self._sync = self.store.settle_synced_segments(user, merged, stored_sync)
            self._mark_own_unsynced(fresh)
        return bool(fresh) or before != (len(self._events), self._sync)

    def on_storage_change(self, key: str | None) -> None:
        """Another tab changed storage (``storage`` event; ``None``: storage was cleared); a
        tab still starting queued an action: take it in now."""
        if key is not None and is_queue_key(key):
            self.ingest_queue()
            return
        user = self.user_id
        watched = {events_key(user)} | ({sync_key(user)} if user is not None else set())
        if key is not None and key not in watched:
            return
        if self._reload():
            self._notify()

    # ------------------------------------------------------------------ the early-action queue

    def ingest_queue(self) -> None:
        """Take in the actions the page queued before the client was ready (module docstring)."""
        warnings = len(self.store.warnings)
        actions = self.store.read_queue()
        self._note_own_stamps(a.event for a in actions)
        user = self.user_id
        for other in {a.user_id for a in actions} - {user}:
            theirs = [a for a in actions if a.user_id == other]
            with contextlib.suppress(StorageFullError):  # the keys stay: read again next time
                self.store.add_events(other, [a.event for a in theirs])
                self.store.remove_queued(theirs)
        mine = [a for a in actions if a.user_id == user]
        changed = len(self.store.warnings) != warnings
        if any(a.event.event_id not in self._events for a in mine):
            changed = self._reload() or changed  # another tab may have stored (or synced) them
        self._ingested.update((a.event.event_id, a) for a in mine)
        fresh: list[Event] = [a.event for a in mine if a.event.event_id not in self._events]
        if fresh:
            self._add_local(fresh)  # persists (then the keys go) and notifies
            return
        self._release_ingested()
        if changed:
            self._notify()

    def _release_ingested(self) -> None:
        """Remove the queue keys of ingested events that the stored log now holds."""
        done = [a for event_id, a in self._ingested.items() if event_id not in self._unwritten]
        self.store.remove_queued(done)
        for action in done:
            del self._ingested[action.event.event_id]

    def _persist(self) -> None:
        if self._log_unread():
            self._queue_unwritten()
            return
        super()._persist()
        if self._ingested:
            self._release_ingested()

    def _queue_unwritten(self) -> None:
        """Before the stored log is read (a reload started from its start point), what is
        recorded is kept in the early-action queue, as the page keeps an action before the
        client is ready: durable at once, written to the log once the log is read (then the
        keys go), and taken in by the next load should the page close first."""
        user = self.user_id
        try:
            for event_id, event in self._unwritten.items():
                if event_id not in self._ingested and event.type in EVENT_TYPES:  # recorded
                    action = encode_queued(user, cast(KnownEvent, event))
                    self.store.queue(action)
                    self._ingested[event_id] = action
        except StorageFullError:
            self._storage_full()

    def _reset_identity_state(self) -> None:
        super()._reset_identity_state()
        # eventId -> its queued action, taken into this identity's log, its key not yet removed
        self._ingested: dict[str, QueuedAction] = {}
        self._deferred_bootstrap = False  # a bootstrap waits for the segments to be read

    # ------------------------------------------------------------------ identity

    def begin_session(self, session: Session) -> None:
        """Become ``session``'s user and start the bootstrap (spec §6.1): the guest log is
        copied into the user's as ``local``, and updates are queued until the remote log is
        merged."""
        self._settle_log()
        if self._session is not None and self._session.user_id != session.user_id:
            self.sign_out()
        self._session = session  # a sync still running for an older session is abandoned
        self._identity += 1
        self._reset_identity_state()
        guest = self.store.read_events(None)
        self._load(session.user_id)
        self._guest_ids = set(guest)
        copied = self._merge(guest.values())
        self._sync = mark_local(self._sync, list(guest))
        self._unpersisted.update(e.event_id for e in copied)
        self._bootstrapping = True
        self._persist()
        self._notify()

    def sign_out(self) -> None:
        """Back to the guest log; the user's stored keys are left as they are."""
        self._settle_log()
        self._session = None
        self._identity += 1
        self._reset_identity_state()
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

    # ------------------------------------------------------------------ the steps of a sync

    def begin_sync(self) -> SyncRun | None:
        """Start a sync for the current session; ``None`` when none may run now."""
        session = self._session
        if session is None or self._session_expired:
            return None
        if not self._online:
            self._end_bootstrap()
            self._notify()
            return None
        if self._syncing:
            self._debounce_at = self.clock.now_ms()  # run again once this sync is over
            return None
        self._syncing = True
        self._debounce_at = self._retry_at = None
        self._notify()
        return SyncRun(session, self._identity)

    def is_current(self, run: SyncRun) -> bool:
        """False once the identity changed while a sync awaited: drop its results."""
        return self._session is not None and run.identity == self._identity

    def bootstrap_pulled(self, run: SyncRun, events: Sequence[Event], cursor: str | None) -> None:
        """The whole remote log arrived: merge it, replay the queue, persist."""
        self._merge(events)
        self._end_bootstrap()
        run.cursor = cursor
        self._persist()

    def start_push(self, run: SyncRun, now: str, *, manual: bool) -> list[Event]:
        """Move pending events to ``syncing``; returns them in log order, to be PUT."""
        if not manual:
            transient = [
                i
                for i, entry in self._sync.events.items()
                if entry.status == "error" and i not in self._held
            ]
            self._sync = mark_local(self._sync, transient)
        self._sync, run.sending = start_sync(self._sync, now, retry_errors=manual)
        self._persist_sync()
        return sorted(
            (self._events[i] for i in run.sending if i in self._events), key=event_order_key
        )

    def batch_sent(self, run: SyncRun, batch: Sequence[Event]) -> None:
        """A PUT succeeded: its events are ``synced``, and the retry schedule starts over (a push
        that the server's rate limit slows down goes on as long as each retry gets further)."""
        ids = [e.event_id for e in batch]
        run.sent.update(ids)
        self._failures = 0
        self._sync = finish_sync_success(self._sync, ids, self._now_iso())
        self._persist_sync()
        self._maybe_clear_guest()

    def pulled(self, run: SyncRun, events: Sequence[Event], cursor: str | None) -> None:
        """Events since the cursor arrived."""
        self._merge(events)
        run.cursor = cursor

    def finish_sync(self, run: SyncRun) -> None:
        """Everything sent and pulled: record the success and the cursor, persist. An entry
        whose event this tab does not hold was not sent: it goes back to ``local`` (never
        ``synced`` unsent), for the tab that holds the event to send."""
        unsent = [i for i in run.sending if i not in run.sent]
        self._sync = finish_sync_success(
            release_unsent(self._sync, unsent), [], self._now_iso(), run.cursor
        )
        self._failures = 0
        self._error_message = self._error_code = self._error_status = None
        self._persist()
        self._maybe_clear_guest()

    def session_expired(self, exc: SessionExpiredError) -> None:
        """401: events go back to ``local``; no retry until a new sign-in."""
        self._session_expired = True
        self._error_message = f"Session expired: sign in again ({exc.message})"
        self._error_code, self._error_status = "session_expired", exc.status
        self._sync = recover_interrupted(self._sync)
        self._persist_sync()

    def sync_failed(self, run: SyncRun, exc: ApiError | NetworkError) -> None:
        """The sync failed: unsent events are ``error``; retry or hold them by its kind."""
        ids = [i for i in run.sending if i not in run.sent]
        message = exc.message if isinstance(exc, ApiError) else str(exc) or "network error"
        self._sync = finish_sync_failure(self._sync, ids, self._now_iso(), message)
        kind: FailureKind
        if isinstance(exc, NetworkError):
            kind = "network"
        elif exc.code == "invalid_cursor":
            kind = "invalid_cursor"
        else:
            kind = "retryable" if exc.retryable else "permanent"
        handling = FAILURE_HANDLING[kind]
        if handling.reset_cursor:
            self._sync = self._sync.model_copy(update={"last_synced_cursor": None})
        self._error_message = message
        self._error_code = exc.code if isinstance(exc, ApiError) else "network"
        self._error_status = exc.status if isinstance(exc, ApiError) else None
        if handling.retried:
            self._failures += 1
            delay = next_retry_delay_ms(self._failures)
            if delay is not None:
                after = exc.retry_after_ms if isinstance(exc, ApiError) else None
                self._retry_at = self.clock.now_ms() + max(delay, after or 0)
        else:
            self._held.update(ids)
        self._persist_sync(reset_cursor=handling.reset_cursor)

    def end_sync(self, run: SyncRun) -> None:
        """Whatever happened: the sync is over (unless the identity changed meanwhile)."""
        if self.is_current(run):
            self._syncing = False
            self._end_bootstrap()
        self._notify()
