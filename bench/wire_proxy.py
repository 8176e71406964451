"""A byte-counting HTTP/1.1 reverse proxy, optionally behind a simulated slow line.

The browser talks to the proxy as if it were the server; every connection is relayed to the
server byte for byte. The proxy counts each byte it relays, both ways, on every connection
(request and response heads and bodies alike), so that whatever reaches the server is counted,
whoever sent it: the page, or a service worker precaching. Beside the relaying, a passive
HTTP/1.1 parser splits each direction into messages (Content-Length, chunked, or until close)
so that each byte is also attributed to one request: its method, path, status,
Content-Encoding and Sec-Fetch-Dest.

The slow line (``Line``): one line shared by all connections, as a home connection is.
  bandwidth   a token bucket per direction (down, up), shared by every connection; its depth is
              one read (8 KB), so a burst never exceeds it; connections take turns in FIFO
              order, one read each, which shares the line about as TCP flows do.
  latency     each read, once through its bucket, reaches the other side rtt/2 later (75 ms
              each way for a 150 ms round trip); reads keep flowing while earlier ones are in
              flight, so latency does not cap a connection's throughput.
  set-up      a new connection is relayed only after one round trip (the TCP handshake).
Not modelled: TCP slow start, packet loss, TLS, HTTP/2 (the browser speaks HTTP/1.1 to the
server: up to 6 connections, no header compression). The server sees the line only through the
proxy's paced reads: its socket buffers let it finish writing a response before the browser has
it, so its keep-alive timeout may close a connection the browser is about to reuse; Chromium
then sends the request again on a new connection (counted, as it would be on a real line).

    with WireProxy(upstream_port, line=SLOW_LINE) as proxy:
        proxy.url                 # give this to the browser
        proxy.reset()             # a fresh count
        proxy.wait_quiet(2.0, 60) # no request open and no byte moved for 2 s
        proxy.close_connections() # drop kept-alive connections (a later visit opens new ones)
        stats = proxy.stats()     # a copy: bytes up and down, connections, each request
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["SLOW_LINE", "Exchange", "Line", "WireProxy", "WireStats"]

READ_SIZE = 8192
HEAD_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Line:
    """A line: bandwidth down and up (bits per second) and the round-trip time (seconds)."""

    down_bits: float
    up_bits: float
    rtt: float

    def describe(self) -> str:
        return (
            f"{self.down_bits / 1e6:g} Mbit/s down, {self.up_bits / 1e3:g} kbit/s up, "
            f"{self.rtt * 1000:.0f} ms round trip"
        )


SLOW_LINE = Line(down_bits=1_600_000, up_bits=750_000, rtt=0.150)


@dataclass
class Exchange:
    """One request and its response, as seen on the wire."""

    method: str
    path: str
    dest: str
    status: int | None = None
    encoding: str = ""
    up: int = 0
    down: int = 0
    done: bool = False


@dataclass
class WireStats:
    up: int = 0
    down: int = 0
    connections: int = 0
    exchanges: list[Exchange] = field(default_factory=list)
    unattributed: int = 0  # bytes no message parser could place (should stay 0)


class _Bucket:
    """A token bucket shared by all connections, for one direction of the line."""

    def __init__(self, bits_per_second: float) -> None:
        self.rate = bits_per_second / 8
        self.depth = float(READ_SIZE)
        self.tokens = self.depth
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()  # FIFO: connections take turns

    async def take(self, n: int) -> None:
        async with self.lock:
            now = time.monotonic()
            self.tokens = min(self.depth, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens < n:
                await asyncio.sleep((n - self.tokens) / self.rate)
                now = time.monotonic()
                self.tokens += (now - self.stamp) * self.rate
                self.stamp = now
            self.tokens -= n


class _Parser:
    """Splits one direction of a connection into HTTP/1.1 messages and attributes each byte."""

    def __init__(self, proxy: WireProxy, pending: deque[Exchange], requests: bool) -> None:
        self.proxy = proxy
        self.pending = pending  # requests sent on this connection, awaiting their response
        self.requests = requests
        self.buf = bytearray()
        self.state = "head"
        self.remaining = 0
        self.current: Exchange | None = None

    def _credit(self, n: int) -> None:
        if n <= 0:
            return
        if self.current is None:
            self.proxy._stats.unattributed += n
        elif self.requests:
            self.current.up += n
        else:
            self.current.down += n

    def _take(self, n: int) -> bytes:
        out = bytes(self.buf[:n])
        del self.buf[:n]
        self._credit(n)
        return out

    def feed(self, data: bytes) -> None:
        self.buf += data
        while self.buf:
            if self.state == "head":
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > HEAD_LIMIT:
                        self.state = "raw"
                        continue
                    return
                head = bytes(self.buf[: end + 4])
                del self.buf[: end + 4]
                self._head(head)
            elif self.state in ("length", "chunk-data"):
                n = min(self.remaining, len(self.buf))
                self._take(n)
                self.remaining -= n
                if self.remaining == 0:
                    if self.state == "length":
                        self._end()
                    else:
                        self.state = "chunk-size"
            elif self.state in ("chunk-size", "trailer"):
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return
                line = self._take(end + 2)[:-2]
                if self.state == "trailer":
                    if not line:
                        self._end()
                    continue
                try:
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    self.state = "raw"
                    continue
                if size == 0:
                    self.state = "trailer"
                else:
                    self.state, self.remaining = "chunk-data", size + 2
            else:  # "close" (a body that ends with the connection) or "raw" (unparseable)
                self._take(len(self.buf))

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        first = lines[0].split(" ")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = int(headers.get("content-length", "0") or 0)
        if self.requests:
            method = first[0]
            path = first[1] if len(first) > 1 else "?"
            self.current = Exchange(method, path, headers.get("sec-fetch-dest", ""))
            self.proxy._stats.exchanges.append(self.current)
            self.pending.append(self.current)
            self._credit(len(head))
            body = "chunked" if chunked else ("length" if length else None)
        else:
            try:
                status = int(first[1])
            except (IndexError, ValueError):
                status = 0
            if self.pending:
                self.current = self.pending[0]
            else:  # a response to no request seen: count it all the same
                self.current = Exchange("?", "?", "")
                self.proxy._stats.exchanges.append(self.current)
            self.current.status = status
            self.current.encoding = headers.get("content-encoding", "")
            self._credit(len(head))
            if 100 <= status < 200 and status != 101:
                return  # an interim response: the final one follows on the same request
            if self.pending and self.pending[0] is self.current:
                self.pending.popleft()
            if self.current.method == "HEAD" or status in (204, 304) or status < 200:
                body = None
            elif chunked:
                body = "chunked"
            elif "content-length" in headers:
                body = "length" if length else None
            else:
                body = "close"
        if body is None:
            self._end()
        elif body == "chunked":
            self.state = "chunk-size"
        elif body == "length":
            self.state, self.remaining = "length", length
        else:
            self.state = "close"

    def _end(self) -> None:
        if not self.requests and self.current is not None:
            self.current.done = True
        self.state = "head"


class WireProxy:
    """The proxy, on its own event loop in a thread, on a free port of 127.0.0.1."""

    def __init__(self, upstream_port: int, line: Line | None = None) -> None:
        self.upstream_port = upstream_port
        self.line = line
        self._stats = WireStats()
        self._writers: set[asyncio.StreamWriter] = set()
        self._last_activity = time.monotonic()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._down: _Bucket | None = None
        self._up: _Bucket | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> WireProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._call(self._stop(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _start(self) -> None:
        if self.line is not None:
            self._down, self._up = _Bucket(self.line.down_bits), _Bucket(self.line.up_bits)
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._close_all()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ what callers use

    def reset(self) -> None:
        """Count from zero (requests still open stay in the old count)."""

        async def swap() -> None:
            self._stats = WireStats()

        self._call(swap())

    def stats(self) -> WireStats:
        async def copy() -> WireStats:
            s = self._stats
            return replace(s, exchanges=[replace(e) for e in s.exchanges])

        result: WireStats = self._call(copy())
        return result

    def close_connections(self) -> None:
        """Drop every open connection (kept-alive ones included)."""
        self._call(self._close_all())

    def wait_quiet(self, quiet: float, timeout: float) -> bool:
        """Wait until no request is open and no byte has moved for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.stats()
            idle = time.monotonic() - self._last_activity
            if idle >= quiet and all(e.done for e in s.exchanges):
                return True
            time.sleep(min(0.2, max(0.05, quiet - idle)))
        return False

    # ------------------------------------------------------------------ relaying

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        self._stats.connections += 1
        self._last_activity = time.monotonic()
        upstream_w: asyncio.StreamWriter | None = None
        pending: deque[Exchange] = deque()
        down: _Parser | None = None
        try:
            if self.line is not None:
                await asyncio.sleep(self.line.rtt)  # the handshake
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            self._writers.add(upstream_w)
            up = _Parser(self, pending, requests=True)
            down = _Parser(self, pending, requests=False)
            await asyncio.gather(
                self._pump(client_r, upstream_w, up, self._up, "up"),
                self._pump(upstream_r, client_w, down, self._down, "down"),
            )
        except OSError:
            pass
        finally:
            for w in (client_w, upstream_w):
                if w is not None:
                    self._writers.discard(w)
                    w.close()
            # what the closed connection left unanswered or unfinished is over too
            for exchange in pending:
                exchange.done = True
            if down is not None and down.current is not None:
                down.current.done = True
            self._last_activity = time.monotonic()

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        parser: _Parser,
        bucket: _Bucket | None,
        direction: str,
    ) -> None:
        """Relay one direction until either side hangs up; then close the connection."""
        line = self.line
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def deliver() -> None:  # the far end of the line, rtt/2 after the bucket
            while (item := await queue.get()) is not None:
                due, data = item
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                sink.write(data)
                await sink.drain()
                self._last_activity = time.monotonic()

        delivering = asyncio.create_task(deliver()) if line is not None else None
        try:
            while True:
                if delivering is not None and delivering.done():
                    break  # the sink hung up
                try:
                    data = await source.read(READ_SIZE if line is not None else 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                self._last_activity = time.monotonic()
                if direction == "up":
                    self._stats.up += len(data)
                else:
                    self._stats.down += len(data)
                parser.feed(data)
                if delivering is None:
                    sink.write(data)
                    await sink.drain()
                    continue
                assert bucket is not None and line is not None
                await bucket.take(len(data))
                await queue.put((time.monotonic() + line.rtt / 2, data))
        except OSError:
            pass
        finally:
            if delivering is not None:
                await queue.put(None)
                with contextlib.suppress(OSError):
                    await delivering
            # one side closed: close the connection, as a proxy does once either side hangs up
            sink.close()
