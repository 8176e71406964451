"""The browser driver: runs the engine in the page, behind ``web/progress-client.js``.

``progress-client.js`` calls :func:`start` and talks to the returned :class:`BrowserDriver` in
JSON text, so no JS object crosses over. The ports are :mod:`pyclient.adapters.pyodide`; this
module and that one are the only ones of pyclient that import ``js`` and ``pyodide`` (they only
import in Pyodide; nothing in ``pyclient/__init__`` imports them).

The driver, in the aioquic manner: after every change it asks
``SyncEngine.next_wakeup_ms()`` and arms one ``setTimeout`` (``pyodide.ffi.wrappers``); when it
fires, ``on_timer(now)`` runs as a task on the running loop (never ``asyncio.run``). It listens
to ``storage`` (keys starting with :data:`~pyclient.store.keys.KEY_PREFIX`), ``online``/
``offline`` and ``visibilitychange``, and calls the page's listener with ``(snapshot JSON or
None when the snapshot did not change, status JSON)`` on every change.

The actions the page queued before Python was ready (DESIGN §5) are taken in
(``SessionEngine.ingest_queue``) when :func:`start` has resumed the stored session (so that a
signed-in user's actions take the signed-in path), once more by the page (``ingest_queue``)
right after ``start()`` resolves, with no await before it records through the driver, and
whenever another tab, still starting, queues one (a ``storage`` event of a queue key, which
the engine's ``on_storage_change`` answers).

What went wrong reaches the page as codes, never as text to show: a failed sign-in resolves
with ``{"error": {...}}`` (:func:`failure_json`), and the status carries ``errorCode`` and
``errorStatus`` (:class:`~pyclient.core.sync_state.EngineStatus`: the last failed sync's, while
the state is ``error``; ``storage_full`` while local storage refuses writes), so that the page
words each failure in its own locale.

The session is stored (:mod:`pyclient.store.session_format`) so that a reload stays signed in
(:func:`start` resumes it with the engine's bootstrap); it is removed on sign-out and when the
server answers 401. Another tab of the same origin follows: a session stored or removed there
signs this tab in or out too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import Callable, Coroutine
from typing import Any

import js
from pyodide.ffi.wrappers import add_event_listener, clear_timeout, set_timeout

from .adapters.pyodide import BrowserClock, FetchTransport, LocalStorage, WebLock
from .core.models import LearningGuestProgress
from .core.sync_state import EngineStatus
from .errors import ApiError, NetworkError, ProgressError, StorageFullError
from .store.keys import KEY_PREFIX, SESSION_KEY
from .store.session_format import read_session, write_session
from .worker import SyncEngine, token_subject

__all__ = ["BrowserDriver", "failure_json", "start"]


def failure_json(exc: ProgressError) -> dict[str, Any]:
    """What the page needs to word a failure: ``code`` (the server's error code, ``network``
    or ``storage_full``), ``status`` (HTTP, or None), ``retryAfterMs`` (the server's wait)."""
    if isinstance(exc, ApiError):
        return {"code": exc.code, "status": exc.status, "retryAfterMs": exc.retry_after_ms}
    if isinstance(exc, NetworkError):
        code = "network"
    elif isinstance(exc, StorageFullError):
        code = "storage_full"
    else:
        code = "client_error"
    return {"code": code, "status": None, "retryAfterMs": None}


# --------------------------------------------------------------------------- driver

JsListener = Callable[[str | None, str], Any]

#: The longest stretch of history loading (ms) before the page gets the main thread back.
HISTORY_SLICE_MS = 12
#: How long the start waits for the host's getToken() before going on as the guest.
HOST_TOKEN_TIMEOUT_S = 10.0


class BrowserDriver:
    """Runs one :class:`SyncEngine` on the page: timers, tasks, DOM events, the JS listener."""

    def __init__(self, api_base_url: str = "/api/v1", get_token: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.storage = LocalStorage()
        self.clock = BrowserClock()
        #: The host app's ``getToken`` (DESIGN §8), if it supplies the tokens: then the session
        #: is the host's, never stored here, and the built-in login is not used.
        self.get_token: Any = get_token if callable(get_token) else None  # JS null: none
        self.engine = SyncEngine(
            self.storage,
            FetchTransport(),
            self.clock,
            base_url=api_base_url,
            lock=WebLock(),
            online=bool(js.navigator.onLine),
            token_source=None if self.get_token is None else self._host_token,
        )
        self._listener: JsListener | None = None
        self._timer: Any = None
        self._timer_at: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._history: asyncio.Task[Any] | None = None
        self._sent_snapshot: LearningGuestProgress | None = None
        self._closed = False
        self._handlers: list[tuple[Any, str, Callable[[Any], None]]] = []
        self.engine.subscribe(self._on_change)
        self._listen(js.window, "storage", self._on_storage)
        self._listen(js.window, "online", self._on_online)
        self._listen(js.window, "offline", self._on_offline)
        self._listen(js.document, "visibilitychange", self._on_visibility)

    # ------------------------------------------------------------------ plumbing

    def _listen(self, target: Any, event: str, handler: Callable[[Any], None]) -> None:
        add_event_listener(target, event, handler)
        self._handlers.append((target, event, handler))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            js.console.error(f"Learning progress: background sync failed: {exc!r}")
        self._arm()

    def _arm(self) -> None:
        """One timer, at the engine's next wakeup (none while offline: ``online`` restarts)."""
        if self._closed:
            return
        at = self.engine.next_wakeup_ms() if self.engine.online else None
        if at == self._timer_at and (at is None or self._timer is not None):
            return
        if self._timer is not None:
            clear_timeout(self._timer)
            self._timer = None
        self._timer_at = at
        if at is not None:
            delay = max(0, at - self.clock.now_ms())
            self._timer = set_timeout(self._fire, delay)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self._spawn(self.engine.on_timer(self.clock.now_ms()))

    def follow_history(self) -> None:
        """Run what is left of loading the stored history (``history_steps``) in a task."""
        if self._closed or not self.engine.history_pending:
            return
        if self._history is None or self._history.done():
            self._history = self._spawn(self._run_history())

    async def _run_history(self) -> None:
        """The engine's history steps, in slices of about :data:`HISTORY_SLICE_MS` (a step
        that would overrun, judged by the one before, waits for the next slice) with the
        page's own tasks (input, rendering) in between.

        After each slice the objects alive are moved out of the cyclic collector's sight
        (``gc.freeze``): the history read stays for the page's lifetime, and a full collection
        walking all of it blocks the page for hundreds of ms at 50k events (measured). Those
        objects are still freed by reference counting when dropped (they form no cycles)."""
        # a browser task of its own first: the page gets the driver from start() before it
        await asyncio.sleep(0)
        now = js.performance.now
        gc.freeze()  # what start-up made, too: the first slice need not walk it
        steps = self.engine.history_steps()
        while not self._closed:
            last = now()
            deadline = last + HISTORY_SLICE_MS
            for _ in steps:
                finished = now()
                step_ms, last = finished - last, finished
                if finished + step_ms >= deadline:  # the next step, if like this one, would
                    break  # overrun the slice: leave it to the next
            else:
                gc.freeze()
                if not self.engine.history_pending:
                    return
                steps = self.engine.history_steps()  # the identity changed meanwhile: its log
            gc.freeze()
            await asyncio.sleep(0)  # a browser task: the page runs before the next slice

    async def history_verified(self) -> str:
        """Wait until the stored history is read and reduced again; the status JSON."""
        while self.engine.history_pending and not self._closed:
            self.follow_history()
            await asyncio.sleep(0.05)
        return self.status_json()

    def _on_change(self, snapshot: LearningGuestProgress, status: EngineStatus) -> None:
        if status.state == "session_expired":
            stored = read_session(self.storage)
            if stored is not None and stored.user_id == status.user_id:
                self.storage.remove(SESSION_KEY)
        self._arm()
        self.follow_history()
        if self._listener is None:
            return
        text = None
        if snapshot is not self._sent_snapshot:
            text = self.engine.store.snapshot_json(snapshot)
            self._sent_snapshot = snapshot
        self._listener(text, json.dumps(status.to_json()))

    def _on_storage(self, event: Any) -> None:
        key = event.key if isinstance(event.key, str) else None  # null: storage was cleared
        if key is not None and not key.startswith(KEY_PREFIX):
            return
        if key is None or key == SESSION_KEY:
            self._follow_session()
        self.engine.on_storage_change(key)
        self._arm()

    def _follow_session(self) -> None:
        """Another tab signed in or out: do the same here."""
        stored = read_session(self.storage)
        current = self.engine.session
        if stored is None:
            if current is not None and self.engine.status.state != "session_expired":
                self.engine.sign_out()
        elif current is None or current.token != stored.token:
            self._spawn(self.engine.sign_in(stored))

    def _on_online(self, _event: Any) -> None:
        self._spawn(self.engine.set_online(True))

    def _on_offline(self, _event: Any) -> None:
        self._spawn(self.engine.set_online(False))

    def _on_visibility(self, _event: Any) -> None:
        if str(js.document.visibilityState) == "visible":
            self._spawn(self.engine.on_visible())

    # ------------------------------------------------------------------ called from JS

    def set_listener(self, listener: JsListener | None) -> None:
        """The page's callback: ``listener(snapshot_json_or_None, status_json)``."""
        self._listener = listener
        self._sent_snapshot = None

    @property
    def client_id(self) -> str:
        return self.engine.client_id

    def snapshot_json(self) -> str:
        snapshot = self.engine.snapshot
        return snapshot.model_dump_json(by_alias=True)

    def status_json(self) -> str:
        return json.dumps(self.engine.status.to_json())

    def record_progress(self, args_json: str) -> str:
        """``recordProgress({contentId, status, score, contentVersion, interaction})``."""
        args = json.loads(args_json)
        if not isinstance(args, dict):
            raise TypeError("recordProgress takes an object")
        return self.engine.record_progress(
            args.get("contentId", ""),  # validated by the event model: a bad value is refused
            args.get("status", ""),
            score=args.get("score"),
            content_version=args.get("contentVersion"),
            interaction=args.get("interaction"),
        )

    def complete_onboarding(self, path_id: str) -> str:
        return self.engine.complete_onboarding(path_id)

    def reset_onboarding(self) -> str:
        return self.engine.reset_onboarding()

    def set_active_path(self, path_id: str | None) -> str:
        return self.engine.set_active_path(path_id)

    def reset_progress(self) -> str:
        return self.engine.reset_progress()

    async def sync(self) -> str:
        """Manual sync; returns the status JSON once it is over."""
        await self.engine.sync()
        self._arm()
        return self.status_json()

    async def _host_token(self) -> str | None:
        """The host's ``getToken()``: a token, or None (no one is signed in there)."""
        value = await self.get_token()
        return value if isinstance(value, str) and value else None

    async def sign_in_with_host_token(self) -> str:
        """``signIn()`` when the host supplies tokens: ask it, and become whom the token names
        (or the guest, when it names no one); the status JSON, or ``{"error": ...}``."""
        try:
            token = await self._host_token()
            await self.engine.use_token(token)
        except Exception as exc:
            js.console.warn(f"Learning progress: the host's token was not usable: {exc!r}")
            return json.dumps({"error": {"code": "invalid_token", "status": None}})
        self._arm()
        return self.status_json()

    async def sign_in(self, email: str, password: str) -> str:
        """Log in, keep the session (a reload stays signed in), bootstrap; the status JSON, or
        ``{"error": failure_json(...)}`` when the login failed (details in the console)."""
        try:
            session = await self.engine.api.login(email, password)
        except ProgressError as exc:
            js.console.warn(f"Learning progress: sign-in failed: {exc!r}")
            return json.dumps({"error": failure_json(exc)})
        write_session(self.storage, session)
        await self.engine.sign_in(session)
        self._arm()
        return self.status_json()

    def sign_out(self) -> str:
        self.storage.remove(SESSION_KEY)
        self.engine.sign_out()
        self._arm()
        return self.status_json()

    async def resume(self) -> None:
        """After a reload: become the stored session's user (the bootstrap goes on in a task);
        when the host supplies tokens, the user its token names."""
        if self.get_token is not None:
            try:  # a host that does not answer in time leaves the learner the guest, for now
                token = await asyncio.wait_for(self._host_token(), HOST_TOKEN_TIMEOUT_S)
                user = None if token is None else token_subject(token)
            except Exception as exc:
                js.console.warn(f"Learning progress: the host's token was not usable: {exc!r}")
                return
            if token is None:
                return
            task = self._spawn(self.engine.use_token(token))
        else:
            session = read_session(self.storage)
            if session is None:
                return
            user = session.user_id
            task = self._spawn(self.engine.sign_in(session))
        # Let the task run up to its first real wait (the lock or the network): by then the
        # user's stored log is loaded, so the page's first snapshot is the user's.
        for _ in range(10):
            if self.engine.user_id == user or task.done():
                break
            await asyncio.sleep(0)

    def ingest_queue(self) -> None:
        """Take in the actions the page queued before the client was ready."""
        self.engine.ingest_queue()
        self._arm()

    def refresh_cache_soon(self) -> None:
        """:meth:`refresh_cache` once :func:`start` has resolved in the page (the cache is for
        the next first paint: the page need not wait for it)."""

        async def later() -> None:
            await asyncio.sleep(0)  # each loop callback is a browser task of its own
            self.refresh_cache()

        self._spawn(later())

    def refresh_cache(self) -> None:
        """Rewrite the snapshot cache when it differs from the log (the next first paint)."""
        engine = self.engine
        with contextlib.suppress(StorageFullError):
            if engine.store.read_snapshot(engine.user_id) != engine.snapshot:
                engine.store.write_snapshot(engine.user_id, engine.snapshot)

    def close(self) -> None:
        """Stop timers and listeners (tests, page teardown)."""
        from pyodide.ffi.wrappers import remove_event_listener

        self._closed = True
        self._listener = None
        if self._timer is not None:
            clear_timeout(self._timer)
            self._timer = None
        for target, event, handler in self._handlers:
            remove_event_listener(target, event, handler)
        self._handlers = []


async def start(api_base_url: str = "/api/v1", get_token: Any = None) -> BrowserDriver:
    """Build the driver on the running loop, resume a stored session (or the host's, with
    ``get_token``), take in the actions the page queued meanwhile; the cache is refreshed and
    the rest of the history read after the page has the driver.

    What the boot made (the modules imported) stays for the page's lifetime, so it is moved
    out of the cyclic collector's sight first (``gc.freeze``): otherwise the first collection
    the start triggers (reading a large snapshot cache does) scans it, which held the start
    about 10 ms at 50k events of history (Python 3.14's incremental collector; measured in
    Chromium and Node). A memory snapshot is made frozen (scripts/make-memory-snapshot.mjs):
    after a restore, this walks only what was imported since."""
    gc.freeze()
    driver = BrowserDriver(api_base_url, get_token)
    await driver.resume()
    driver.ingest_queue()  # after the resume: a signed-in user's actions are taken in as theirs
    driver.refresh_cache_soon()
    driver.follow_history()  # what is left of the stored history loads after ready
    return driver
