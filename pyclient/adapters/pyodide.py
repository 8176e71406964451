"""The engine's ports on web APIs, for Pyodide in the page (imports ``js``, ``pyodide`` and the
page's ``pyclient_js``).

- :class:`LocalStorage`: ``window.localStorage``; ``QuotaExceededError`` (any refused
  ``setItem``) becomes :class:`~pyclient.errors.StorageFullError`.
- :class:`FetchTransport`: ``fetch`` through ``settledFetch`` (web/settled-fetch.js), which
  always resolves, with a timeout (an abort); no answer becomes
  :class:`~pyclient.errors.NetworkError`.
- :class:`BrowserClock`: ``Date.now()``.
- :class:`WebLock`: ``navigator.locks.request(name, callback)`` held for the body of an
  ``async with``; where Web Locks do not exist, no lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import js
import pyclient_js  # type: ignore[import-not-found]  # web/kept-storage.js, settled-fetch.js
from pyodide.ffi import JsBuffer, JsException, create_once_callable, to_js

from ..errors import NetworkError, StorageFullError
from ..ports import HttpResponse

__all__ = ["REQUEST_TIMEOUT_S", "BrowserClock", "FetchTransport", "LocalStorage", "WebLock"]

#: A request without an answer after this long is a network failure (then retried).
REQUEST_TIMEOUT_S: Final = 30.0


class LocalStorage:
    """``window.localStorage`` as a :class:`~pyclient.ports.Storage`.

    Each value this port last read or wrote is kept on both sides (a JS string and its Python
    copy): a read compares the stored value with the kept JS string in JS and, when they are
    equal, returns the kept Python copy, so an unchanged log of several hundred KB is not
    copied into Python again on every write (another tab's write is still seen: the comparison
    is of the whole value, exactly). That JS half is ``keptStorage`` of web/kept-storage.js,
    which the page registers as the module ``pyclient_js`` before it imports pyclient (a module
    rather than JS text given to ``eval``: the page's policy allows no ``eval``). A long value
    comes as its UTF-8 bytes, not as a string: Pyodide converts a string character by
    character in JS, bytes in one copy.
    """

    def __init__(self, area: Any = None) -> None:
        self.area = area if area is not None else js.localStorage
        self._kept: dict[str, str] = {}
        self._js = pyclient_js.keptStorage(self.area)

    def get(self, key: str) -> str | None:
        value = self._js.get(key)
        if isinstance(value, JsBuffer):  # a long value, as its UTF-8 bytes: decoded natively
            value = value.to_bytes().decode()
        if isinstance(value, str):
            self._kept[key] = value
            return value
        if value is True:  # equal to the value kept on both sides
            kept = self._kept.get(key)
            if kept is not None:
                return kept
            self._js.forget(key)
            value = self.area.getItem(key)
            return value if isinstance(value, str) else None
        self._kept.pop(key, None)
        return None  # JS null is ``jsnull``, not None

    def set(self, key: str, value: str) -> None:
        self._kept.pop(key, None)
        try:
            self._js.set(key, value)
        except JsException as exc:  # QuotaExceededError, or storage refused for another reason
            name = getattr(exc, "name", "") or type(exc).__name__
            raise StorageFullError(f"{name} writing {key} ({len(value)} characters)") from None
        self._kept[key] = value

    def remove(self, key: str) -> None:
        self._kept.pop(key, None)
        self._js.remove(key)

    def keys(self) -> list[str]:
        area = self.area
        return [str(area.key(i)) for i in range(int(area.length))]


class FetchTransport:
    """HTTP through ``fetch``, same origin unless told otherwise: ``settledFetch`` of the page's
    ``pyclient_js`` (web/settled-fetch.js) resolves to the answer or to why there is none, so
    a refused request is a :class:`~pyclient.errors.NetworkError` at once in every engine
    (WebKit's rejection of a refused fetch cannot be raised in Python), and one without an
    answer within ``timeout_s`` is aborted and one too."""

    def __init__(self, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        try:
            result = await pyclient_js.settledFetch(
                url,
                method,
                to_js(dict(headers), dict_converter=js.Object.fromEntries),
                None if body is None else body.decode("utf-8"),
                int(self.timeout_s * 1000),
            )
        except JsException as exc:  # settledFetch itself failed: still no answer
            raise NetworkError(f"{method} {url}: {exc}") from None
        if not result.ok:
            if result.timedOut:
                raise NetworkError(f"{method} {url}: no answer in {self.timeout_s:g} s")
            raise NetworkError(f"{method} {url}: {result.reason}")
        answer_headers = {str(k): str(v) for k, v in result.headers.to_py()}
        return HttpResponse(int(result.status), answer_headers, result.body.to_bytes())


class BrowserClock:
    """``Date.now()``."""

    def now_ms(self) -> int:
        return int(js.Date.now())


class WebLock:
    """A Web Lock (``navigator.locks``) held while the ``async with`` body runs.

    The lock is requested with a callback that returns a promise; the promise is resolved on
    leaving the body, which releases the lock. Without Web Locks, nothing is locked.
    """

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        locks = getattr(js.navigator, "locks", None)
        if locks is None:
            yield
            return
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        release: list[Any] = []

        def executor(resolve: Any, reject: Any) -> None:
            release.append(resolve)

        def on_granted(lock: Any) -> Any:
            promise = js.Promise.new(create_once_callable(executor))
            if granted.done():  # the waiter gave up (cancelled): release at once
                release.pop()()
            else:
                granted.set_result(None)
            return promise

        locks.request(name, create_once_callable(on_granted))
        try:
            await granted
            yield
        finally:
            if release:
                release.pop()()
            elif not granted.done():
                granted.cancel()
