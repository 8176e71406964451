"""The simulated world of the randomized model test (``test_model.py``): browser profiles
with their storage and tabs, a wall clock that may step back, a transport that injects
failures, and the checks run once every client has synced."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyclient import SyncEngine, canonical_json, parse_events, reduce_events
from pyclient.adapters.cpython import AsyncioLock, MemoryStorage, UrllibTransport
from pyclient.errors import NetworkError
from pyclient.http.api_client import Session
from pyclient.ports import HttpResponse, Transport
from pyserver.auth import TokenIssuer

from .conftest import Server

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

# --------------------------------------------------------------------------- the simulated world


class Clock:
    """The scenario's time, seen by one client with its own skew."""

    def __init__(self, world: World, skew_ms: int) -> None:
        self.world = world
        self.skew_ms = skew_ms

    def now_ms(self) -> int:
        return self.world.now + self.skew_ms


class TabStorage:
    """One tab's view of its profile's storage: writes queue ``storage`` events for the
    other tabs of the profile (delivered later, as browsers do)."""

    def __init__(self, client: Client, tab: int) -> None:
        self.client = client
        self.tab = tab

    def get(self, key: str) -> str | None:
        return self.client.storage.get(key)

    def set(self, key: str, value: str) -> None:
        self.client.storage.set(key, value)
        self._notify(key)

    def remove(self, key: str) -> None:
        self.client.storage.remove(key)
        self._notify(key)

    def keys(self) -> list[str]:
        return self.client.storage.keys()

    def _notify(self, key: str) -> None:
        for tab in self.client.tabs:
            if tab.index != self.tab:
                tab.storage_events.append(key)


class ChaosTransport:
    """Real HTTP, with failures drawn from the scenario's generator while ``flaky``."""

    def __init__(self, world: World, client: Client) -> None:
        self.world = world
        self.client = client
        self.inner: Transport = UrllibTransport(timeout=10)

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        world = self.world
        world.requests += 1
        if self.client.network_down:
            raise NetworkError("offline (the network is down)")
        roll = world.rng.random() if world.flaky else 1.0
        if roll < 0.1:
            world.faults += 1
            return HttpResponse(
                500, {}, b'{"ok":false,"error":{"code":"internal","message":"injected"}}'
            )
        if roll < 0.2:
            world.faults += 1
            raise NetworkError("injected: connection refused")
        response = await self.inner.request(method, url, headers, body)
        if roll < 0.3:
            world.faults += 1
            raise NetworkError("injected: response lost after the server committed")
        return response


@dataclass
class Tab:
    index: int
    engine: SyncEngine
    storage_events: list[str] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class Client:
    name: str
    user: str
    storage: MemoryStorage
    lock: AsyncioLock
    clock: Clock
    transport: ChaosTransport | None = None
    tabs: list[Tab] = field(default_factory=list)
    network_down: bool = False


class World:
    def __init__(self, seed: int, server: Server, issuer: TokenIssuer) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.server = server
        self.now = START_MS
        self.flaky = False
        self.requests = 0
        self.faults = 0
        self.steps = 0
        self.log: list[str] = []
        self.users = [f"model-{seed}-{n}-{self.rng.getrandbits(32):08x}" for n in range(2)]
        self.sessions = {u: Session(u, issuer.issue(u)[0]) for u in self.users}
        self.expected: dict[str, set[str]] = {u: set() for u in self.users}
        self.clients: list[Client] = []
        for n in range(self.rng.randint(3, 4)):
            user = self.users[n % 2] if n < 2 else self.rng.choice(self.users)
            skew = self.rng.choice([0, 0, -3_600_000, 90_000, -86_400_000])
            client = Client(f"c{n}", user, MemoryStorage(), AsyncioLock(), Clock(self, skew))
            client.transport = ChaosTransport(self, client)
            for t in range(self.rng.randint(1, 2)):
                client.tabs.append(Tab(t, self._engine(client, t)))
            self.clients.append(client)

    def _engine(self, client: Client, tab: int) -> SyncEngine:
        assert client.transport is not None
        return SyncEngine(
            TabStorage(client, tab),
            client.transport,
            client.clock,
            base_url=self.server.base,
            lock=client.lock,
            online=not client.network_down,
        )

    # ------------------------------------------------------------------ actions

    def record(self, client: Client, tab: Tab) -> None:
        rng, engine = self.rng, tab.engine
        kind = rng.choices(
            ["progress", "onboarded", "onboarding_reset", "path", "reset"], [12, 2, 1, 2, 1]
        )[0]
        if kind == "progress":
            content = f"lesson-{rng.randrange(6)}"
            score: float | None = rng.choice([None, rng.randint(0, 100), rng.random() * 100])
            interaction = None
            if rng.random() < 0.4:
                state = rng.choice(
                    [None, {"kind": "quiz", "selectedOptionId": rng.choice(["a", "b", None])}]
                )
                interaction = {"interactionId": f"{content}-q1", "state": state}
            event_id = engine.record_progress(
                content,
                rng.choice(["not_started", "in_progress", "completed", "passed"]),
                score=score,
                content_version=rng.choice([None, "v1", "v2"]),
                interaction=interaction,
            )
        elif kind == "onboarded":
            event_id = engine.complete_onboarding(f"path-{rng.randrange(3)}")
        elif kind == "onboarding_reset":
            event_id = engine.reset_onboarding()
        elif kind == "path":
            event_id = engine.set_active_path(rng.choice([None, "path-0", "path-1"]))
        else:
            event_id = engine.reset_progress()
        # Signed in: the user's; a guest event: merged into the client's user at sign-in.
        self.expected[engine.user_id or client.user].add(event_id)
        self.log.append(f"{client.name}/{tab.index} record {kind} as {engine.user_id}")

    async def step(self) -> None:
        rng = self.rng
        client = rng.choice(self.clients)
        tab = rng.choice(client.tabs)
        engine = tab.engine
        action = rng.choices(
            [
                "record",
                "sync",
                "sync_background",
                "timers",
                "storage_events",
                "offline",
                "online",
                "flaky",
                "sign_in",
                "sign_out",
                "reload",
                "visible",
                "settle",
                "clock_back",
                "history",
            ],
            [30, 6, 6, 10, 6, 2, 3, 3, 5, 2, 4, 2, 3, 1, 6],
        )[0]
        self.steps += 1
        self.log.append(f"{client.name}/{tab.index} {action}")
        if action == "record":
            for _ in range(rng.choice([1, 1, 2, 5])):
                self.record(client, tab)
        elif action == "sync":
            await engine.sync()
        elif action == "sync_background":
            tab.tasks.append(asyncio.ensure_future(engine.sync()))
        elif action == "timers":
            self.now += rng.choice([200, 1500, 5000, 20_000, 61_000])
            await self.fire_timers(background=rng.random() < 0.5)
        elif action == "storage_events":
            self.deliver(tab)
        elif action == "offline":
            client.network_down = True
            for t in client.tabs:
                await t.engine.set_online(False)
        elif action == "online":
            client.network_down = False
            for t in client.tabs:
                await t.engine.set_online(True)
        elif action == "flaky":
            self.flaky = not self.flaky
        elif action == "sign_in":
            session = self.sessions[client.user]
            if rng.random() < 0.5:
                tab.tasks.append(asyncio.ensure_future(engine.sign_in(session)))
            else:
                await engine.sign_in(session)
        elif action == "sign_out":
            engine.sign_out()
        elif action == "reload":
            await self.reload(client, tab)
        elif action == "visible":
            await engine.on_visible()
        elif action == "clock_back":  # this profile's wall clock steps backwards
            client.clock.skew_ms -= rng.choice([1, 1000, 3_600_000])
        elif action == "history":  # the driver runs a slice of the history left to load
            for _ in itertools.islice(engine.history_steps(), rng.choice([1, 2, 5, 50])):
                pass
        else:
            await self.settle()
        await asyncio.sleep(0)

    async def fire_timers(self, *, background: bool) -> None:
        for client in self.clients:
            for tab in client.tabs:
                wakeup = tab.engine.next_wakeup_ms()
                if wakeup is not None and wakeup <= client.clock.now_ms():
                    run = tab.engine.on_timer(client.clock.now_ms())
                    if background:
                        tab.tasks.append(asyncio.ensure_future(run))
                    else:
                        await run

    def deliver(self, tab: Tab) -> None:
        keys, tab.storage_events = tab.storage_events, []
        for key in dict.fromkeys(keys):
            tab.engine.on_storage_change(key)

    async def reload(self, client: Client, tab: Tab) -> None:
        """The page reloads: whatever the old engine was doing stops where it is."""
        session = tab.engine.session
        for task in tab.tasks:
            task.cancel()
        await asyncio.gather(*tab.tasks, return_exceptions=True)
        tab.tasks = []
        tab.storage_events = []
        tab.engine = self._engine(client, tab.index)
        if session is not None:  # the page resumes its session
            await tab.engine.sign_in(session)
        tab.engine.ingest_queue()  # and takes in what was queued (as the page's start does)

    async def settle(self) -> None:
        for client in self.clients:
            for tab in client.tabs:
                tasks, tab.tasks = tab.tasks, []
                for result in await asyncio.gather(*tasks, return_exceptions=True):
                    if isinstance(result, BaseException):
                        raise result

    # ------------------------------------------------------------------ the end

    async def quiesce(self) -> None:
        self.flaky = False
        await self.settle()
        for client in self.clients:
            client.network_down = False
            for tab in client.tabs:
                await tab.engine.set_online(True)
                self.deliver(tab)
                if tab.engine.user_id != client.user:
                    await tab.engine.sign_in(self.sessions[client.user])
        for _ in range(6):
            for client in self.clients:
                for tab in client.tabs:
                    for _ in tab.engine.history_steps():  # what the driver runs after ready
                        pass
                    self.deliver(tab)
                    await tab.engine.sync()
            await self.settle()
            pending = sum(t.engine.status.pending for c in self.clients for t in c.tabs)
            guests = [c.name for c in self.clients if c.storage.get("learning_progress_events")]
            if not pending and not guests and self.converged():
                return

    def converged(self) -> bool:
        for user in self.users:
            remote = {e["eventId"] for e in self.fetch(user)[0]}
            for client in self.clients:
                for tab in client.tabs:
                    if client.user == user and {e.event_id for e in tab.engine.events} != remote:
                        return False
        return True

    def fetch(self, user: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Every event of a user on the server, and the server's snapshot."""
        events: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = f"?limit=1000&since={cursor}" if cursor else "?limit=1000"
            request = urllib.request.Request(
                f"{self.server.base}/learning/progress{query}",
                headers={"Authorization": f"Bearer {self.sessions[user].token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                data = json.load(response)["data"]
            events.extend(data["events"])
            cursor = data["cursor"]
            if not data["hasMore"]:
                return events, data["snapshot"]

    def check(self) -> None:
        for user in self.users:
            remote, remote_snapshot = self.fetch(user)
            ids = [e["eventId"] for e in remote]
            assert len(ids) == len(set(ids)), "the server holds an event twice"
            missing = self.expected[user] - set(ids)
            assert not missing, f"{len(missing)} recorded events of {user} never reached the server"
            extra = set(ids) - self.expected[user]
            assert not extra, f"the server holds {len(extra)} events nobody recorded for {user}"
            reduced = canonical_json(reduce_events(parse_events(json.dumps(remote))))
            assert canonical_json(remote_snapshot) == reduced, "server snapshot != its events"
            for client in self.clients:
                if client.user != user:
                    continue
                for tab in client.tabs:
                    engine = tab.engine
                    where = f"{client.name}/{tab.index}"
                    assert engine.user_id == user, where
                    assert {e.event_id for e in engine.events} == set(ids), where
                    assert canonical_json(engine.snapshot) == reduced, where
                    assert engine.status.pending == 0, where
                    assert engine.status.state == "synced", (where, engine.status)
                stored = set(
                    SyncEngine(client.storage, _Unused(), client.clock).store.read_events(user)
                )
                assert stored == set(ids), f"{client.name}: stored log differs from the server"
                assert client.storage.get("learning_progress_events") is None, client.name


class _Unused:
    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        raise AssertionError("no request expected")
