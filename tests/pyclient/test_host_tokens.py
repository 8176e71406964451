"""Tokens supplied by the host app (DESIGN §8 ``getToken``): adopting one signs in, switches
user or signs out; on a 401 the host is asked once more before the session is expired."""

from __future__ import annotations

import base64
import json
import types
from collections.abc import Awaitable, Callable, Generator

import pytest

from pyclient import SyncEngine
from pyclient.adapters.cpython import MemoryStorage
from pyclient.worker import token_subject

from .engine_harness import Ids, stored_ids
from .fakes import FakeClock, FakeServer, FakeTransport, drive, start


def jwt_for(user: str, n: int = 1) -> str:
    """A token shaped like the host's (the fake server knows it by its text, not its signature)."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'sub': user, 'n': n})}.signature"


class Host:
    """The host app's token endpoint: hands out ``next`` (and counts the calls)."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.next: str | None = None
        self.calls = 0

    def issue(self, user: str, n: int) -> str:
        token = jwt_for(user, n)
        self.server.tokens[token] = user
        return token

    def source(self) -> Callable[[], Awaitable[str | None]]:
        async def get_token() -> str | None:
            self.calls += 1
            return self.next

        return get_token


def engine_with_host() -> tuple[SyncEngine, FakeServer, MemoryStorage, Host]:
    server = FakeServer(tokens={})
    storage = MemoryStorage()
    host = Host(server)
    engine = SyncEngine(
        storage, FakeTransport(server), FakeClock(), new_id=Ids(), token_source=host.source()
    )
    return engine, server, storage, host


def test_a_token_signs_the_guest_in_and_merges_the_guest_progress() -> None:
    engine, server, _, host = engine_with_host()
    guest = engine.record_progress("lesson-1", "completed")
    drive(engine.use_token(host.issue("u1", 1)))
    assert engine.user_id == "u1" and engine.status.state == "synced"
    assert server.ids("u1") == [guest]
    assert host.calls == 0  # the host was not asked: it gave the token


def test_a_401_asks_the_host_once_and_retries_with_the_new_token() -> None:
    engine, server, _, host = engine_with_host()
    old = host.issue("u1", 1)
    drive(engine.use_token(old))
    del server.tokens[old]  # it expired
    host.next = host.issue("u1", 2)
    event = engine.record_progress("lesson-2", "completed")
    drive(engine.sync())
    assert host.calls == 1
    assert engine.status.state == "synced" and event in server.ids("u1")
    assert server.requests[-1].headers["Authorization"] == f"Bearer {host.next}"


@pytest.mark.parametrize("renewal", ["same token", "also refused", "host fails"])
def test_without_a_working_new_token_the_session_expires_after_one_renewal(renewal: str) -> None:
    engine, server, _, host = engine_with_host()
    old = host.issue("u1", 1)
    drive(engine.use_token(old))
    del server.tokens[old]
    host.next = old if renewal == "same token" else jwt_for("u1", 9)  # not known to the server
    if renewal == "host fails":

        async def broken() -> str | None:
            host.calls += 1
            raise RuntimeError("the host's token endpoint is down")

        engine.token_source = broken
    event = engine.record_progress("lesson-2", "completed")
    drive(engine.sync())
    assert host.calls == 1
    assert engine.status.state == "session_expired"
    assert event in {e.event_id for e in engine.events}  # kept, to send once signed in again
    drive(engine.sync())  # no loop: an expired session makes no request and asks no one
    assert host.calls == 1
    host.next = host.issue("u1", 3)
    drive(engine.use_token(host.next))  # the host signs the learner in again
    assert engine.status.state == "synced" and event in server.ids("u1")


def test_a_host_that_signed_out_signs_the_client_out() -> None:
    engine, server, storage, host = engine_with_host()
    old = host.issue("u1", 1)
    drive(engine.use_token(old))
    kept = engine.record_progress("lesson-1", "completed")
    drive(engine.sync())
    del server.tokens[old]
    host.next = None
    engine.record_progress("lesson-2", "completed")
    drive(engine.sync())
    assert engine.user_id is None and engine.status.user_id is None
    assert engine.events == []  # the guest's log: empty
    assert kept in stored_ids(storage, "u1")  # the user's keys are left as they are


def test_another_user_from_the_host_is_a_switch_of_user() -> None:
    engine, server, storage, host = engine_with_host()
    first = host.issue("u1", 1)
    drive(engine.use_token(first))
    theirs = engine.record_progress("lesson-1", "completed")
    drive(engine.sync())
    del server.tokens[first]
    server.events["u2"] = []
    host.next = host.issue("u2", 1)
    drive(engine.sync())
    assert engine.user_id == "u2" and engine.status.state == "synced"
    assert theirs not in {e.event_id for e in engine.events}
    assert theirs in stored_ids(storage, "u1")
    drive(engine.use_token(None))
    assert engine.user_id is None


def test_a_new_token_of_the_same_user_changes_nothing_else() -> None:
    engine, server, _, host = engine_with_host()
    drive(engine.use_token(host.issue("u1", 1)))
    event = engine.record_progress("lesson-1", "completed")
    drive(engine.sync())
    gets = len(server.gets())
    drive(engine.use_token(host.issue("u1", 2)))
    assert engine.user_id == "u1" and [e.event_id for e in engine.events] == [event]
    assert len(server.gets()) == gets  # no bootstrap again


@pytest.mark.parametrize(
    "token", ["opaque", "a.b.c", "x." + base64.urlsafe_b64encode(b'{"n":1}').decode() + ".y"]
)
def test_a_token_that_names_no_user_is_refused(token: str) -> None:
    with pytest.raises(ValueError):
        token_subject(token)
    assert token_subject(jwt_for("someone")) == "someone"
    with pytest.raises(ValueError):
        token_subject(jwt_for("alice:segment:1"))  # would name alice's storage keys


@types.coroutine
def _suspend() -> Generator[None]:
    yield


def test_a_new_token_during_a_sync_lets_that_sync_finish_and_later_ones_run() -> None:
    engine, server, _, host = engine_with_host()
    drive(engine.use_token(host.issue("u1", 1)))
    first = engine.record_progress("lesson-1", "completed")
    engine.api.transport.pause = lambda method, url: method == "PUT"  # type: ignore[attr-defined]
    sync = engine.sync()
    assert start(sync)  # the PUT is in flight
    drive(engine.use_token(host.issue("u1", 2)))  # the host refreshes the token meanwhile
    engine.api.transport.pause = None  # type: ignore[attr-defined]
    drive(sync)
    assert engine.status.state == "synced" and engine.sync_state.events[first].status == "synced"
    second = engine.record_progress("lesson-2", "completed")
    drive(engine.sync())
    assert engine.status.state == "synced" and server.ids("u1") == [first, second]
    assert server.requests[-1].headers["Authorization"] == f"Bearer {jwt_for('u1', 2)}"


def test_a_sync_that_starts_while_the_host_is_asked_does_not_stall_syncing() -> None:
    engine, server, _, host = engine_with_host()
    old = host.issue("u1", 1)
    drive(engine.use_token(old))
    del server.tokens[old]
    host.next = host.issue("u1", 2)

    async def slow_source() -> str | None:
        host.calls += 1
        await _suspend()  # the host's token request takes a while
        return host.next

    engine.token_source = slow_source
    event = engine.record_progress("lesson-1", "completed")
    renewing = engine.sync()
    assert start(renewing)  # PUT -> 401 -> asking the host
    engine.api.transport.pause = lambda method, url: True  # type: ignore[attr-defined]
    other = engine.on_visible()  # the tab becomes visible meanwhile: another sync starts
    assert start(other)
    engine.api.transport.pause = None  # type: ignore[attr-defined]
    drive(renewing)
    drive(other)
    drive(engine.sync())
    assert event in server.ids("u1") and engine.status.state == "synced"


def test_a_token_the_host_gave_for_the_previous_user_is_not_used_for_the_next() -> None:
    engine, server, _, host = engine_with_host()
    old = host.issue("u1", 1)
    drive(engine.use_token(old))
    drive(engine.sync())
    del server.tokens[old]
    stale = host.issue("u1", 2)

    async def slow_source() -> str | None:
        await _suspend()
        return stale  # the answer to a request made before the host switched users

    engine.token_source = slow_source
    theirs = engine.record_progress("lesson-2", "completed")
    renewing = engine.sync()
    assert start(renewing)  # 401 -> asking the host
    server.events["u2"] = []
    drive(engine.use_token(host.issue("u2", 1)))  # the host signed u2 in meanwhile
    mine = engine.record_progress("lesson-9", "completed")
    drive(renewing)
    assert engine.user_id == "u2"
    drive(engine.sync())
    assert server.ids("u2") == [mine] and mine not in server.ids("u1")
    assert theirs not in server.ids("u2")
