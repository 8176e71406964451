"""The ports of the sync engine: storage, HTTP, time and a cross-tab lock, as small protocols.

The engine never touches I/O itself. CPython hands it the adapters of ``pyclient.adapters``
(in-memory or JSON-file storage, an HTTP transport); the browser bridge hands it localStorage,
``fetch``, ``Date.now`` and Web Locks. Timers are not a port: the engine says when it wants to
run next (``SyncEngine.next_wakeup_ms``) and the driver owns the real timer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Clock", "HttpResponse", "NoLock", "Storage", "SyncLock", "Transport"]


class Storage(Protocol):
    """A string key-value store shared by the tabs of one origin (localStorage semantics)."""

    def get(self, key: str) -> str | None:
        """The stored value, or ``None`` when the key is absent."""
        ...

    def set(self, key: str, value: str) -> None:
        """Store a value; raise :class:`~pyclient.errors.StorageFullError` on quota (nothing
        is written then)."""
        ...

    def remove(self, key: str) -> None:
        """Delete a key; absent keys are fine."""
        ...

    def keys(self) -> list[str]:
        """Every key currently stored."""
        ...


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP answer. Header names are matched without regard to case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


class Transport(Protocol):
    """Sends one HTTP request. Raises :class:`~pyclient.errors.NetworkError` when there is no
    answer (offline, unreachable, connection dropped); any answer, even a 500, is returned."""

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse: ...


class Clock(Protocol):
    """The wall clock, in milliseconds since the Unix epoch (it may step backwards)."""

    def now_ms(self) -> int: ...


class SyncLock(Protocol):
    """A lock shared by the tabs of one origin (Web Locks in the browser), held while syncing."""

    def hold(self, name: str) -> AbstractAsyncContextManager[None]: ...


class NoLock:
    """A lock that never waits: one process, one engine per user (the default)."""

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        yield
