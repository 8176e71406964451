"""Bursts of wrong logins against ``python -m pyserver serve`` processes, on both backends.

100 concurrent clients (each its own connection, released together) guess one learner's
password. A wrong guess that reached a password check answers 401, one refused before it 429,
so the 401s count the checks (the ``login_attempts`` counter's ``checks`` must agree). The
throttle is shared by two processes on one database and survives a restart; once the attack
stops, the right password gets in within the backoff cap (shortened here to 2 s).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from pyserver import create_user
from pyserver.login_limits import account_key
from pyserver.storage import Storage

from .conftest import ServerProcess, start_server_process, stop_server_process

LOGIN = "/api/v1/auth/login"
EMAIL = "ada@example.com"
RIGHT = "correct horse"
#: Password checks a burst for one email may reach: the account's 10 free attempts, and a
#: couple more only if the burst outlasted the wait that follows them (1 s by default).
MOST_CHECKS = 12
#: For the bursts: waits long enough that none ends before the test's last request.
LONG_WAITS = {"PYSERVER_LOGIN_BACKOFF_BASE": "60", "PYSERVER_LOGIN_BACKOFF_CAP": "60"}


def burst(servers: list[ServerProcess], n: int = 100) -> list[httpx.Response]:
    """``n`` concurrent wrong logins for one email, spread over ``servers``."""
    clients = [httpx.Client(base_url=servers[i % len(servers)].url, timeout=120) for i in range(n)]
    barrier = threading.Barrier(n)
    responses: list[httpx.Response] = []
    errors: list[BaseException] = []

    def attempt(client: httpx.Client) -> None:
        try:
            barrier.wait()
            responses.append(client.post(LOGIN, json={"email": EMAIL, "password": "guess"}))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(client,)) for client in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in clients:
            client.close()
    assert not errors, errors
    return responses


def checked(responses: list[httpx.Response]) -> int:
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {401, 429}, statuses
    for response in responses:
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "rate_limited"
            assert int(response.headers["retry-after"]) >= 1
    return statuses.count(401)


def login(server: ServerProcess, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}{LOGIN}", json={"email": EMAIL, "password": password}, timeout=60
    )


def test_100_concurrent_wrong_logins_reach_at_most_12_password_checks(
    storage: Storage, database_url: str, tmp_path: Path
) -> None:
    create_user(storage, EMAIL, RIGHT)
    server = start_server_process(database_url, tmp_path / "data", env=LONG_WAITS)
    try:
        reached = checked(burst([server]))
        assert 10 <= reached <= MOST_CHECKS
        counter = storage.login_counter(account_key(EMAIL))
        assert counter is not None and counter.checks == reached
        assert login(server, RIGHT).status_code == 429  # waiting: the right one too
    finally:
        stop_server_process(server)


def test_two_server_processes_on_one_database_share_the_throttle(
    storage: Storage, database_url: str, tmp_path: Path
) -> None:
    create_user(storage, EMAIL, RIGHT)
    servers = [
        start_server_process(database_url, tmp_path / "data", env=LONG_WAITS) for _ in range(2)
    ]
    try:
        responses = burst(servers)
        reached = checked(responses)
        assert 10 <= reached <= MOST_CHECKS
        for server in servers:  # each refused some: they counted together
            mine = [r for r in responses if str(r.url).startswith(server.url)]
            assert any(r.status_code == 429 for r in mine)
            assert login(server, RIGHT).status_code == 429
    finally:
        for server in servers:
            stop_server_process(server)


def test_a_restart_keeps_the_throttle(storage: Storage, database_url: str, tmp_path: Path) -> None:
    create_user(storage, EMAIL, RIGHT)
    env = {"PYSERVER_LOGIN_BACKOFF_BASE": "600", "PYSERVER_LOGIN_BACKOFF_CAP": "600"}
    server = start_server_process(database_url, tmp_path / "data", env=env)
    try:
        for _ in range(10):
            assert login(server, "guess").status_code == 401
    finally:
        stop_server_process(server)
    server = start_server_process(database_url, tmp_path / "data", env=env)
    try:
        response = login(server, RIGHT)
        assert response.status_code == 429, response.text
        assert int(response.headers["retry-after"]) > 500
    finally:
        stop_server_process(server)


def test_the_right_password_gets_in_within_the_cap_once_an_attack_stops(
    storage: Storage, database_url: str, tmp_path: Path
) -> None:
    create_user(storage, EMAIL, RIGHT)
    cap = 2.0
    env = {"PYSERVER_LOGIN_BACKOFF_BASE": "0.25", "PYSERVER_LOGIN_BACKOFF_CAP": str(cap)}
    server = start_server_process(database_url, tmp_path / "data", env=env)
    try:
        reached = 0
        until = time.monotonic() + 4 * cap  # the attack goes on, bursts and all
        while time.monotonic() < until:
            reached += checked(burst([server], 20))
        # 8 s of waits of 0.25, 0.5, 1, 2, 2, ... s let few more than the 10 free ones through.
        assert reached <= 10 + 8
        time.sleep(cap + 0.1)  # the attack stopped; no more than the cap to wait
        response = login(server, RIGHT)
        assert response.status_code == 200, response.text
    finally:
        stop_server_process(server)
