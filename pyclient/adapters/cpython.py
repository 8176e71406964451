"""CPython adapters for the sync engine's ports: storages, an HTTP transport, a clock, a lock.

Not for the browser (the Pyodide bridge has its own). Importing this module needs only the
standard library; the optional httpx transport imports httpx when it is built.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..errors import NetworkError, StorageFullError
from ..ports import HttpResponse

__all__ = [
    "AsyncioLock",
    "HttpxTransport",
    "JsonFileStorage",
    "MemoryStorage",
    "SystemClock",
    "UrllibTransport",
]


class MemoryStorage:
    """A dict with localStorage semantics; ``quota`` (UTF-16 units, keys included) is optional."""

    def __init__(self, quota: int | None = None) -> None:
        self.data: dict[str, str] = {}
        self.quota = quota

    def _size(self, data: Mapping[str, str]) -> int:
        return sum(
            len(k.encode("utf-16-le")) // 2 + len(v.encode("utf-16-le")) // 2
            for k, v in data.items()
        )

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        if self.quota is not None and self._size({**self.data, key: value}) > self.quota:
            raise StorageFullError(f"storage quota of {self.quota} exceeded writing {key}")
        self.data[key] = value

    def remove(self, key: str) -> None:
        self.data.pop(key, None)

    def keys(self) -> list[str]:
        return list(self.data)


class JsonFileStorage:
    """Storage kept in one JSON file (written atomically); for a CPython client process."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path} is not a JSON object")
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, data: Mapping[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageFullError(f"could not write {self.path}: {exc}") from exc

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def set(self, key: str, value: str) -> None:
        data = self._read()
        data[key] = value
        self._write(data)

    def remove(self, key: str) -> None:
        data = self._read()
        if data.pop(key, None) is not None:
            self._write(data)

    def keys(self) -> list[str]:
        return list(self._read())


class SystemClock:
    """The wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class AsyncioLock:
    """One asyncio lock per name: engines of one event loop sync a user one at a time."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            yield


class UrllibTransport:
    """HTTP with the standard library, run in a worker thread (``asyncio.to_thread``)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return HttpResponse(
                    response.status, dict(response.headers.items()), response.read()
                )
        except urllib.error.HTTPError as exc:
            with exc:
                return HttpResponse(exc.code, dict(exc.headers.items()), exc.read())
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out
            raise NetworkError(f"{method} {url}: {exc}") from exc

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        return await asyncio.to_thread(self._send, method, url, headers, body)


class HttpxTransport:
    """HTTP with httpx (imported here, so pyclient itself needs only pydantic)."""

    def __init__(self, client: Any = None, timeout: float = 30.0) -> None:
        import httpx

        self._httpx = httpx
        self.client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        try:
            response = await self.client.request(method, url, headers=dict(headers), content=body)
        except self._httpx.TransportError as exc:
            raise NetworkError(f"{method} {url}: {exc}") from exc
        return HttpResponse(response.status_code, dict(response.headers), response.content)

    async def aclose(self) -> None:
        await self.client.aclose()
