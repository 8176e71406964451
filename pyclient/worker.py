"""The sync worker, the one async part of the engine: it holds the cross-tab lock, sends PUT
batches, pulls, and drops the results of a sync whose session changed while it awaited.

:class:`SyncEngine` is the engine that clients use: :class:`~pyclient.session.SessionEngine`
plus the triggers that start the worker (spec §6.3): the debounce timer (:meth:`on_timer`),
the page becoming visible, the browser coming online, a manual :meth:`sync`, and
:meth:`sign_in`. After every call the driver asks :meth:`next_wakeup_ms` and arms one timer.

Failures: 408/429/5xx/network → ``error``, retry after ``RETRY_DELAYS_MS[n-1]`` (or the
server's ``Retry-After`` when longer), at most ``MAX_RETRIES`` times in a row (a PUT that gets
through starts the count over); then nothing until the next trigger, which starts the schedule
over. Other 4xx → ``error``, held until a manual
``sync()`` or sign-out. 401 → ``session_expired``: events go back to ``local``, no retry until
a new ``sign_in``. ``invalid_cursor`` → the cursor is dropped and the next pull is complete.
Offline (``set_online(False)``): no request is made, events stay ``local``; ``online`` syncs.
"""

from __future__ import annotations

from collections.abc import Callable

from .core.sync_state import next_retry_delay_ms
from .engine import DEBOUNCE_MS
from .errors import ApiError, NetworkError, SessionExpiredError
from .http.api_client import ApiClient, Session, batch_events
from .ports import Clock, NoLock, Storage, SyncLock, Transport
from .session import SessionEngine, SyncRun
from .store.keys import sync_key

__all__ = ["SyncEngine"]


class _Abandoned(Exception):
    """The identity changed while a sync awaited: drop its results."""


class SyncEngine(SessionEngine):
    """One client (one tab): its log, snapshot and sync metadata, synced with the API."""

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
        self.api = ApiClient(transport, base_url, clock)
        self.lock: SyncLock = lock if lock is not None else NoLock()
        super().__init__(storage, clock, new_id=new_id, debounce_ms=debounce_ms, online=online)

    # ------------------------------------------------------------------ triggers

    async def on_timer(self, now_ms: int) -> None:
        """The driver's timer fired: run the debounced sync or the retry that is due."""
        debounce_due = self._debounce_at is not None and self._debounce_at <= now_ms
        retry_due = self._retry_at is not None and self._retry_at <= now_ms
        if debounce_due:
            await self._trigger()
        elif retry_due:
            await self._run(manual=False)

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

    async def sign_in(self, session: Session) -> None:
        """Become ``session``'s user and bootstrap (spec §6.1); also after a reload."""
        self.begin_session(session)
        await self._run(manual=False, bootstrap=True)

    # ------------------------------------------------------------------ the worker

    def _check(self, run: SyncRun) -> None:
        if not self.is_current(run):
            raise _Abandoned

    def _history_loaded(self) -> None:
        """Every segment is read: the sync that waited for the whole log is due now."""
        if self._session is not None and not self._session_expired:
            self._debounce_at = self.clock.now_ms()
        self._notify()

    async def _run(self, *, manual: bool, bootstrap: bool = False) -> None:
        if not self._loaded:  # a sync needs the whole log: it runs once the segments are read
            self._deferred_bootstrap = self._deferred_bootstrap or bootstrap
            self._debounce_at = self._retry_at = None  # _history_loaded makes it due again
            return
        bootstrap, self._deferred_bootstrap = bootstrap or self._deferred_bootstrap, False
        run = self.begin_sync()
        if run is None:
            return
        if self.store.take_damaged(run.session.user_id):  # a segment was lost here: pull all
            self._sync = self._sync.model_copy(update={"last_synced_cursor": None})
            self._persist_sync(reset_cursor=True)
        token = run.session.token
        try:
            async with self.lock.hold(sync_key(run.session.user_id)):
                self._check(run)
                self._reload()
                now = self._now_iso()
                if bootstrap:  # after a reload, what the stored cursor does not cover
                    pulled = await self.api.pull(token, self._sync.last_synced_cursor)
                    self._check(run)
                    self.bootstrap_pulled(run, pulled.events, pulled.cursor)
                for batch in batch_events(self.start_push(run, now, manual=manual)):
                    await self.api.put_progress(token, batch, now)
                    self._check(run)
                    self.batch_sent(run, batch)
                if not bootstrap:
                    pulled = await self.api.pull(token, self._sync.last_synced_cursor)
                    self._check(run)
                    self.pulled(run, pulled.events, pulled.cursor)
                self.finish_sync(run)
        except _Abandoned:
            return
        except SessionExpiredError as exc:
            self.session_expired(exc)
        except (ApiError, NetworkError) as exc:
            self.sync_failed(run, exc)
        finally:
            self.end_sync(run)
