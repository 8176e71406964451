"""The sync engine in CPython against a real ``pyserver`` process: down, slow, failing, or
dropping the answer after it committed.

The server runs as a subprocess on SQLite; the engine talks HTTP through ``UrllibTransport``.
Faults are injected between them by a transport wrapper: a server that is down (nothing
listening), slow (the client times out), answering 500, and dropping the response after the
server committed. Timers are driven by hand with a fake clock; the HTTP is real.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pyclient import SyncEngine, canonical_json, reduce_events
from pyclient.adapters.cpython import JsonFileStorage, MemoryStorage, UrllibTransport
from pyclient.errors import NetworkError
from pyclient.http.api_client import Session
from pyclient.ports import HttpResponse, Transport
from tests.pyclient.engine_harness import QUEUED_AT, page_event, page_started, queue_action
from tests.pyclient.fakes import FakeClock

from .conftest import Server, free_port


class SlowProxy:
    """A TCP proxy that waits ``delay`` seconds before passing each connection on."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.delay = 0.0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        time.sleep(self.delay)
        with client, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:

            def pipe(a: socket.socket, b: socket.socket) -> None:
                try:
                    while data := a.recv(65536):
                        b.sendall(data)
                except OSError:
                    pass
                finally:
                    with contextlib.suppress(OSError):
                        b.shutdown(socket.SHUT_WR)

            back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
            back.start()
            pipe(client, upstream)
            back.join(timeout=5)

    def close(self) -> None:
        self.listener.close()


Fault = Callable[[str, str], HttpResponse | None]


class FaultyTransport:
    """Forwards to a real transport; ``before`` may answer instead, ``drop_after`` sends the
    request and then loses the answer (the server committed, the client never hears)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.before: Fault | None = None
        self.drop_after: Callable[[str, str], bool] | None = None
        self.sent: list[tuple[str, str]] = []

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        self.sent.append((method, url))
        if self.before is not None and (answer := self.before(method, url)) is not None:
            return answer
        response = await self.inner.request(method, url, headers, body)
        if self.drop_after is not None and self.drop_after(method, url):
            raise NetworkError("connection reset after the request was sent")
        return response


def engine_for(
    server: Server,
    transport: Transport,
    storage: MemoryStorage | None = None,
    base: str | None = None,
) -> tuple[SyncEngine, FakeClock]:
    clock = FakeClock()
    engine = SyncEngine(storage or MemoryStorage(), transport, clock, base_url=base or server.base)
    return engine, clock


async def fire(engine: SyncEngine, clock: FakeClock) -> None:
    wakeup = engine.next_wakeup_ms()
    assert wakeup is not None
    clock.now = max(clock.now, wakeup)
    await engine.on_timer(clock.now)


def statuses(engine: SyncEngine) -> set[str]:
    return {e.status for e in engine.sync_state.events.values()}


def test_guest_progress_reaches_the_server_once_and_another_device_sees_it(server: Server) -> None:
    async def scenario() -> None:
        session = Session("it-guest", server.token("it-guest"))
        engine, _ = engine_for(server, UrllibTransport(timeout=10))
        guest = engine.record_progress("lesson-1", "completed", score=70)
        engine.complete_onboarding("path-1")
        await engine.sign_in(session)
        assert engine.status.state == "synced"
        assert guest in {e["eventId"] for e in server.events(session.token)}
        other, _ = engine_for(server, UrllibTransport(timeout=10))
        await other.sign_in(session)
        assert canonical_json(other.snapshot) == canonical_json(engine.snapshot)

    asyncio.run(scenario())


def test_an_action_the_page_queued_as_a_guest_reaches_the_server_after_sign_in(
    server: Server,
) -> None:
    """The learner clicked before the client was ready, then signed in: the event the page
    created is on the server as it was created (eventId, occurredAt and all)."""

    async def scenario() -> None:
        session = Session("it-queued", server.token("it-queued"))
        storage = MemoryStorage()
        page_started(storage)
        event = page_event(1, QUEUED_AT)
        queue_action(storage, event, None)
        engine, _ = engine_for(server, UrllibTransport(timeout=10), storage)
        engine.ingest_queue()
        await engine.sign_in(session)
        assert engine.status.state == "synced"
        assert server.events(session.token) == [event]

    asyncio.run(scenario())


def test_a_server_that_is_down_leaves_events_in_error_then_they_sync(server: Server) -> None:
    async def scenario() -> None:
        session = Session("it-down", server.token("it-down"))
        dead = f"http://127.0.0.1:{free_port()}/api/v1"
        engine, clock = engine_for(server, UrllibTransport(timeout=5), base=dead)
        await engine.sign_in(session)
        engine.record_progress("lesson-1", "completed")
        await fire(engine, clock)
        assert statuses(engine) == {"error"} and engine.status.state == "error"
        engine.api.base_url = server.base  # the server is back
        await fire(engine, clock)  # the scheduled retry
        assert statuses(engine) == {"synced"}
        assert len(server.events(session.token)) == 1

    asyncio.run(scenario())


def test_a_slow_server_times_out_and_the_retry_is_not_a_second_copy(server: Server) -> None:
    async def scenario() -> None:
        session = Session("it-slow", server.token("it-slow"))
        proxy = SlowProxy(server.port)
        try:
            base = f"http://127.0.0.1:{proxy.port}/api/v1"
            engine, clock = engine_for(server, UrllibTransport(timeout=0.5), base=base)
            await engine.sign_in(session)
            engine.record_progress("lesson-1", "completed")
            proxy.delay = 1.0  # answers later than the client waits (and still commits)
            await fire(engine, clock)
            assert engine.status.state == "error" and statuses(engine) == {"error"}
            await asyncio.sleep(1.5)
            proxy.delay = 0.0
            await fire(engine, clock)
            assert statuses(engine) == {"synced"}
            assert len(server.events(session.token)) == 1
        finally:
            proxy.close()

    asyncio.run(scenario())


def test_a_500_is_retried_on_the_schedule(server: Server) -> None:
    async def scenario() -> None:
        session = Session("it-500", server.token("it-500"))
        faulty = FaultyTransport(UrllibTransport(timeout=10))
        engine, clock = engine_for(server, faulty)
        await engine.sign_in(session)
        body = b'{"ok":false,"error":{"code":"internal","message":"boom"}}'
        faulty.before = lambda m, u: HttpResponse(500, {}, body) if m == "PUT" else None
        engine.record_progress("lesson-1", "completed")
        await fire(engine, clock)
        await fire(engine, clock)
        (entry,) = engine.sync_state.events.values()
        assert entry.status == "error" and entry.retry_count == 2
        faulty.before = None
        await fire(engine, clock)
        assert statuses(engine) == {"synced"}

    asyncio.run(scenario())


def test_a_response_dropped_after_commit_is_retried_and_stored_once(server: Server) -> None:
    async def scenario() -> None:
        session = Session("it-drop", server.token("it-drop"))
        faulty = FaultyTransport(UrllibTransport(timeout=10))
        engine, clock = engine_for(server, faulty)
        await engine.sign_in(session)
        faulty.drop_after = lambda m, u: m == "PUT"
        recorded = {engine.record_progress(f"lesson-{n}", "completed") for n in range(3)}
        await fire(engine, clock)
        assert statuses(engine) == {"error"}
        assert {e["eventId"] for e in server.events(session.token)} == recorded  # committed
        faulty.drop_after = None
        await fire(engine, clock)
        assert statuses(engine) == {"synced"}
        ids = [e["eventId"] for e in server.events(session.token)]
        assert sorted(ids) == sorted(recorded)  # exactly once
        assert canonical_json(engine.snapshot) == canonical_json(reduce_events(engine.events))

    asyncio.run(scenario())


def test_a_file_backed_client_survives_a_restart(server: Server, tmp_path: Path) -> None:
    async def scenario() -> None:
        session = Session("it-file", server.token("it-file"))
        storage = JsonFileStorage(tmp_path / "client.json")
        engine = SyncEngine(storage, UrllibTransport(timeout=10), FakeClock(), base_url=server.base)
        await engine.sign_in(session)
        await engine.set_online(False)
        event_id = engine.record_progress("lesson-1", "passed", score=100)
        again = SyncEngine(storage, UrllibTransport(timeout=10), FakeClock(), base_url=server.base)
        await again.sign_in(session)
        assert [e["eventId"] for e in server.events(session.token)] == [event_id]
        assert again.status.state == "synced"

    asyncio.run(scenario())
