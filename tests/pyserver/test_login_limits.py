"""The login's limits, one request at a time, against a live server whose limiter runs on a
clock the test moves (no sleeping): backoff per account and per client address, the reset on
success, the way back in once an attack stops, trusted proxies, bounded password checks, and
argon2 parameters (old hashes verify and are replaced). On both backends where counters are
stored; ``test_login_abuse.py`` has the concurrent bursts against server processes.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher

from pyclient.core.models import ErrorEnvelope
from pyserver import create_app, create_user
from pyserver.auth import password_checks
from pyserver.config import LoginSettings
from pyserver.login_limits import LoginLimiter, account_key, address_key
from pyserver.storage import Storage
from pyserver.storage.base import Backoff, LoginCounter, count_login_attempt

from .conftest import SECRET, LiveServer

LOGIN = "/api/v1/auth/login"
RIGHT = "correct horse"


class Clock:
    """Seconds since the epoch that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(storage: Storage) -> Iterator[LiveServer]:
    """A live server that, like ``python -m pyserver serve``, leaves X-Forwarded-For alone
    (uvicorn's own proxy-header handling, on by default, would rewrite the client address)."""
    app = create_app(storage, SECRET)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False)
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    live = LiveServer(url, storage, app, httpx.Client(base_url=url, timeout=60),
                      uvicorn_server, thread, sock)  # fmt: skip
    yield live
    live.stop()


def use_limits(server: LiveServer, clock: Clock, **settings: Any) -> LoginLimiter:
    """Give the live server's app a limiter with these settings, on the test's clock."""
    limiter = LoginLimiter(server.storage, LoginSettings(**settings), clock=clock)
    server.app.state.api.login_limiter = limiter
    return limiter


def login(
    server: LiveServer, email: str, password: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return server.client.post(LOGIN, json={"email": email, "password": password}, headers=headers)


def assert_rate_limited(response: httpx.Response) -> int:
    """The 429 envelope; returns its Retry-After."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/json")
    envelope = ErrorEnvelope.model_validate_json(response.content)
    assert envelope.error.code == "rate_limited"
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


# --------------------------------------------------------------------------- the rule


def test_the_backoff_rule_counts_before_the_check_and_refuses_without_counting() -> None:
    rule = Backoff(free=3, base=1.0, cap=4.0, forget_after=60.0)
    assert [rule.delay(n) for n in range(1, 8)] == [0, 0, 1, 2, 4, 4, 4]
    counter: LoginCounter | None = None
    for expected in (1, 2, 3):
        wait, [new] = count_login_attempt([counter], [rule], 100.0)
        assert wait == 0 and new.failures == expected and new.checks == expected
        counter = new
    wait, [same] = count_login_attempt([counter], [rule], 100.5)
    assert wait == pytest.approx(0.5) and same.failures == 3  # refused: nothing counted
    # Left alone longer than forget_after: starts over, keeps the total of checks.
    wait, [fresh] = count_login_attempt([counter], [rule], 200.0)
    assert wait == 0 and fresh.failures == 1 and fresh.checks == 4


# --------------------------------------------------------------------------- per account


def test_a_success_resets_the_accounts_count(server: LiveServer, clock: Clock) -> None:
    """9 failures, a success, 9 failures: the right password still gets in. The clock stands
    still, so if the success did not reset the count, the 11th counted attempt would wait."""
    use_limits(server, clock, account_free=10, address_free=1000)
    create_user(server.storage, "ada@example.com", RIGHT)
    for _ in range(2):
        for _ in range(9):
            assert login(server, "ada@example.com", "wrong").status_code == 401
        response = login(server, "ada@example.com", RIGHT)
        assert response.status_code == 200, response.text
    counter = server.storage.login_counter(account_key("ada@example.com"))
    assert counter is not None and counter.failures == 0 and counter.checks == 20


def test_failures_double_the_wait_up_to_the_cap_and_the_right_password_then_gets_in(
    server: LiveServer, clock: Clock
) -> None:
    use_limits(server, clock, account_free=10, address_free=1000, backoff_cap=30.0)
    create_user(server.storage, "ada@example.com", RIGHT)
    for _ in range(10):  # the free ones
        assert login(server, "ada@example.com", "wrong").status_code == 401
    waits = []
    for _ in range(8):  # an attacker who tries again as soon as allowed
        wait = assert_rate_limited(login(server, "ada@example.com", "wrong"))
        assert_rate_limited(login(server, "ada@example.com", RIGHT))  # the learner waits too
        waits.append(wait)
        clock.advance(wait)
        assert login(server, "ada@example.com", "wrong").status_code == 401
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    # The attack stops: within the cap (30 s, well under a minute) the right password gets in.
    clock.advance(29)
    assert assert_rate_limited(login(server, "ada@example.com", RIGHT)) == 1
    clock.advance(1)
    assert login(server, "ada@example.com", RIGHT).status_code == 200
    assert login(server, "ada@example.com", "wrong").status_code == 401  # counting starts over


def test_unknown_emails_are_counted_like_known_ones(server: LiveServer, clock: Clock) -> None:
    use_limits(server, clock, account_free=3, address_free=1000)
    for _ in range(3):
        assert login(server, "nobody@example.com", "guess").status_code == 401
    assert_rate_limited(login(server, "nobody@example.com", "guess"))
    assert login(server, "Somebody@example.com", "guess").status_code == 401


# --------------------------------------------------------------------------- per address


def test_one_address_is_limited_across_emails_and_others_are_not(
    server: LiveServer, clock: Clock
) -> None:
    use_limits(server, clock, account_free=10, address_free=5, trusted_proxies=_loopback())
    attacker, other = "203.0.113.7", "198.51.100.2"
    for n in range(5):
        assert login(server, f"user{n}@example.com", "guess", attacker).status_code == 401
    assert_rate_limited(login(server, "user99@example.com", "guess", attacker))
    assert login(server, "user99@example.com", "guess", other).status_code == 401
    counter = server.storage.login_counter(address_key(attacker))
    assert counter is not None and counter.failures == 5


def test_successful_logins_do_not_use_up_an_addresss_allowance(
    server: LiveServer, clock: Clock
) -> None:
    """A class behind one NAT: 12 learners sign in from one address that allows 3 failures."""
    use_limits(server, clock, account_free=10, address_free=3, trusted_proxies=_loopback())
    for n in range(12):
        create_user(server.storage, f"learner{n}@example.com", RIGHT)
        response = login(server, f"learner{n}@example.com", RIGHT, "192.0.2.50")
        assert response.status_code == 200, response.text


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(
    server: LiveServer, clock: Clock
) -> None:
    use_limits(server, clock, account_free=10, address_free=3)  # no trusted proxy
    for n in range(3):
        hop = f"203.0.113.{n}"  # a client making up a new address each time
        assert login(server, f"u{n}@example.com", "guess", hop).status_code == 401
    assert_rate_limited(login(server, "u9@example.com", "guess", "203.0.113.200"))
    assert server.storage.login_counter(address_key("127.0.0.1")) is not None


def test_behind_a_proxy_the_right_most_untrusted_hop_is_the_client(
    server: LiveServer, clock: Clock
) -> None:
    limiter = use_limits(server, clock, trusted_proxies=_loopback() + _networks("10.0.0.0/8"))

    def address(peer: str, forwarded: list[str]) -> str:
        scope = {
            "type": "http",
            "client": (peer, 1234),
            "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
        }
        from starlette.requests import Request

        return limiter.client_address(Request(scope))

    assert address("127.0.0.1", ["1.2.3.4, 203.0.113.9, 10.1.2.3"]) == "203.0.113.9"
    assert address("127.0.0.1", ["1.2.3.4", "203.0.113.9"]) == "203.0.113.9"
    assert address("127.0.0.1", ["10.0.0.1, 10.0.0.2"]) == "10.0.0.1"
    assert address("127.0.0.1", []) == "127.0.0.1"
    assert address("192.0.2.1", ["203.0.113.9"]) == "192.0.2.1"  # untrusted peer: ignored
    assert address_key("2001:db8:1:2:3:4:5:6") == address_key("2001:db8:1:2:ffff::1")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1")


def _networks(*items: str) -> tuple[Any, ...]:
    import ipaddress

    return tuple(ipaddress.ip_network(item) for item in items)


def _loopback() -> tuple[Any, ...]:
    return _networks("127.0.0.1/32")


# --------------------------------------------------------------------------- password checks


def test_at_most_concurrency_password_checks_run_at_once(
    server: LiveServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_limits(server, clock, concurrency=2, trusted_proxies=_loopback(), address_free=1000)
    from pyserver import auth, login_limits

    running = 0
    most = 0
    lock = threading.Lock()
    real = auth.verify_password

    def slow_verify(stored_hash: str, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return real(stored_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(login_limits, "verify_password", slow_verify)
    statuses: list[int] = []

    def attempt(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            body = {"email": f"user{n}@example.com", "password": "guess"}
            statuses.append(client.post(LOGIN, json=body).status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [401] * 16
    assert most == 2


def test_a_burst_for_one_email_reaches_the_password_check_at_most_free_times(
    server: LiveServer,
) -> None:
    """100 concurrent wrong logins: only the account's 10 free attempts are checked, whatever
    the order they arrive in; the others answer 429 at once. (The wait after the 10th is made
    a minute long, so that a slow burst cannot outlast it.)"""
    settings = LoginSettings(backoff_base=60.0, backoff_cap=60.0)
    server.app.state.api.login_limiter = LoginLimiter(server.storage, settings)
    create_user(server.storage, "ada@example.com", RIGHT)
    before = password_checks()
    barrier = threading.Barrier(100)
    statuses: list[int] = []

    def attempt() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            barrier.wait()
            body = {"email": "ada@example.com", "password": "guess"}
            statuses.append(client.post(LOGIN, json=body).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 10 + [429] * 90
    assert password_checks() - before == 10
    counter = server.storage.login_counter(account_key("ada@example.com"))
    assert counter is not None and counter.checks == 10


# --------------------------------------------------------------------------- argon2


def test_new_hashes_use_owasp_parameters_and_old_ones_verify_and_are_replaced(
    server: LiveServer, clock: Clock
) -> None:
    use_limits(server, clock)
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(RIGHT)
    server.storage.create_user("old-user", "old@example.com", old)
    assert login(server, "old@example.com", RIGHT).status_code == 200
    user = server.storage.find_user("old@example.com")
    assert user is not None and user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert login(server, "old@example.com", RIGHT).status_code == 200
    assert login(server, "old@example.com", "wrong").status_code == 401


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyserver.config import login_settings
    from pyserver.errors import ConfigError

    monkeypatch.setenv("PYSERVER_LOGIN_BACKOFF_CAP", "5")
    monkeypatch.setenv("PYSERVER_LOGIN_CONCURRENCY", "3")
    monkeypatch.setenv("PYSERVER_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    settings = login_settings()
    assert dataclasses.replace(settings, trusted_proxies=()) == LoginSettings(
        backoff_cap=5.0, concurrency=3
    )
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    monkeypatch.setenv("PYSERVER_TRUSTED_PROXIES", "not-an-address")
    with pytest.raises(ConfigError):
        login_settings()


def test_a_version_1_database_is_migrated_and_keeps_its_users(database_url: str) -> None:
    """The counters' table came with schema version 2; a version 1 database gains it (and
    every later version)."""
    if database_url.startswith("sqlite"):
        import sqlite3

        from pyserver.storage import sqlite as backend

        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            with conn:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                for statement in backend.MIGRATIONS[0]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (1)")
                conn.execute("INSERT INTO users VALUES ('id-1', 'a@example.com', 'h', 'now')")
        finally:
            conn.close()
    else:
        import psycopg

        from pyserver.storage import postgres as backend  # type: ignore[no-redef]

        with psycopg.connect(database_url, autocommit=True) as pg:
            pg.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            for statement in backend.MIGRATIONS[0]:
                pg.execute(statement.encode())
            pg.execute("INSERT INTO schema_version (version) VALUES (1)")
            pg.execute(
                "INSERT INTO users (user_id, email, password_hash) "
                "VALUES ('id-1', 'a@example.com', 'h')"
            )
    assert backend.SCHEMA_VERSION >= 2
    from pyserver import open_storage

    storage = open_storage(database_url)
    try:
        assert storage.schema_version() == backend.SCHEMA_VERSION
        assert storage.find_user("a@example.com") is not None
        rule = Backoff(free=1, base=5.0, cap=5.0, forget_after=60.0)
        assert storage.count_login_attempt(["k"], [rule], 100.0) == 0.0
        assert storage.count_login_attempt(["k"], [rule], 101.0) == pytest.approx(4.0)
        assert storage.login_counter("k") == LoginCounter(1, 105.0, 100.0, 1)
    finally:
        storage.close()
