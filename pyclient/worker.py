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

Tokens from the host app (DESIGN §8 ``getToken``, ``token_source``): :meth:`use_token` adopts
one (its ``sub`` names the user: another user than the current one is a sign-in after a
sign-out, with the guest merge and per-user keys; ``None`` is a sign-out; the same user's new
token just replaces the old one). On a 401 the host is asked once more; a new token for the same
user retries the sync at once, and only if that fails too is the session expired.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace

from .core.sync_state import next_retry_delay_ms, recover_interrupted
from .engine import DEBOUNCE_MS
from .errors import ApiError, NetworkError, SessionExpiredError
from .http.api_client import ApiClient, Session, batch_events
from .ports import Clock, NoLock, Storage, SyncLock, Transport
from .session import SessionEngine, SyncRun
from .store.keys import sync_key

__all__ = ["SyncEngine", "TokenSource", "token_subject"]

#: The host app's tokens: a fresh one for whoever is signed in there, or ``None``.
type TokenSource = Callable[[], Awaitable[str | None]]


def token_subject(token: str) -> str:
    """The userId (``sub``) a JWT names. Not verified (the server does that); ``ValueError``
    when ``token`` is no JWT or names no one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("the token is not a JWT")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("the token's claims cannot be read") from None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub:
        raise ValueError("the token names no user (no sub)")
    if ":" in sub or not sub.isprintable():  # it becomes part of storage keys (...:{userId})
        raise ValueError("the token's user id cannot name a learner here")
    return sub


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
        token_source: TokenSource | None = None,
    ) -> None:
        self.api = ApiClient(transport, base_url, clock)
        self.lock: SyncLock = lock if lock is not None else NoLock()
        self.token_source = token_source
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

    async def use_token(self, token: str | None) -> None:
        """Adopt a token of the host app (see the module's docstring); ``ValueError`` when it
        names no user."""
        if token is None:
            if self._session is not None:
                self.sign_out()
            return
        user = token_subject(token)
        current = self._session
        if current is None or current.user_id != user:
            await self.sign_in(Session(user, token))
        elif token != current.token:
            # The same user: no new identity (a sync in flight goes on, its next request with
            # this token).
            self._session = replace(current, token=token)
            if self._session_expired:
                self._session_expired = False
                self._error_message = self._error_code = self._error_status = None
                await self._trigger()
            self._notify()

    async def _renewed(self, run: SyncRun, refused: str) -> bool:
        """After a 401 for the token ``refused``: ask the host once for a token. True when the
        session has a token other than the refused one now, for the same user (retry at once);
        an identity change in the host app (another user, or none) is adopted."""
        if self.token_source is None:
            return False
        try:
            token = await self.token_source()
        except Exception:  # the host could not say: the session is expired, as without it
            return False
        if not self.is_current(run):  # the identity changed while the host was asked
            return False
        try:
            user = None if token is None else token_subject(token)
        except ValueError:
            return False
        session = self._session
        assert session is not None  # is_current
        if token is None or user != session.user_id:
            await self.use_token(token)  # signed out, or another user, in the host app
            return False
        if token != session.token:
            session = self._session = replace(session, token=token)
        return session.token != refused

    # ------------------------------------------------------------------ the worker

    def _check(self, run: SyncRun) -> None:
        if not self.is_current(run):
            raise _Abandoned

    def _history_loaded(self) -> None:
        """Every segment is read: the sync that waited for the whole log is due now."""
        if self._session is not None and not self._session_expired:
            self._debounce_at = self.clock.now_ms()
        self._notify()

    async def _run(self, *, manual: bool, bootstrap: bool = False, renewed: bool = False) -> None:
        self._read_small_log()
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
        expired: SessionExpiredError | None = None
        used = [run.session.token]

        def token() -> str:  # the session's token now: the host may renew it mid-sync
            used[0] = self._session.token if self._session is not None else run.session.token
            return used[0]

        try:
            async with self.lock.hold(sync_key(run.session.user_id)):
                self._check(run)
                self._reload()
                now = self._now_iso()
                if bootstrap:  # after a reload, what the stored cursor does not cover
                    pulled = await self.api.pull(token(), self._sync.last_synced_cursor)
                    self._check(run)
                    self.bootstrap_pulled(run, pulled.events, pulled.cursor)
                for batch in batch_events(self.start_push(run, now, manual=manual)):
                    await self.api.put_progress(token(), batch, now)
                    self._check(run)
                    self.batch_sent(run, batch)
                if not bootstrap:
                    pulled = await self.api.pull(token(), self._sync.last_synced_cursor)
                    self._check(run)
                    self.pulled(run, pulled.events, pulled.cursor)
                self.finish_sync(run)
        except _Abandoned:
            return
        except SessionExpiredError as exc:
            expired = exc
        except (ApiError, NetworkError) as exc:
            self.sync_failed(run, exc)
        finally:
            self.end_sync(run)
        if expired is None or not self.is_current(run):
            return
        self._sync = recover_interrupted(self._sync)  # what the 401 stopped is local again
        if not renewed and await self._renewed(run, used[0]):  # a new token: once more
            await self._run(manual=manual, bootstrap=bootstrap, renewed=True)
        elif self.is_current(run):
            self.session_expired(expired)
            self._notify()
