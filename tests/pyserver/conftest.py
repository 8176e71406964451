"""Fixtures for the pyserver tests: databases (SQLite and PostgreSQL), live servers, tokens.

PostgreSQL: ``PYSERVER_TEST_POSTGRES_URL`` (a URL allowed to create databases) is used if set;
otherwise, when PostgreSQL's server binaries are installed, a throwaway cluster
(``pgcluster.py``) is started on 127.0.0.1 for the session (as the ``postgres`` user when
running as root). With ``CI=true`` the PostgreSQL tests never skip: if no server can be had,
they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from pyserver import TokenIssuer, create_app, open_storage
from pyserver.storage import Storage

from ..processes import stop_process
from .pgcluster import PostgresCluster, find_bindir

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-" + "x" * 60
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL URL allowed to create databases (an env URL or a throwaway cluster)."""
    url = os.environ.get("PYSERVER_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed and PYSERVER_TEST_POSTGRES_URL is not set"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    cluster = PostgresCluster(bindir)
    try:
        url = cluster.start()
    except Exception as exc:
        cluster.stop()
        pytest.fail(f"cannot start a throwaway PostgreSQL cluster: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"pyserver_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    base, _, _ = postgres_admin_url.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


# --------------------------------------------------------------------------- databases

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'progress.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    store = open_storage(database_url)
    yield store
    store.close()


# --------------------------------------------------------------------------- live servers


def token_for(user_id: str, ttl: int = 3600) -> str:
    return TokenIssuer(SECRET).issue(user_id, ttl)[0]


def auth(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user_id)}"}


@dataclass
class LiveServer:
    """A uvicorn server in a thread of this process, and a client for it."""

    url: str
    storage: Storage
    app: Any
    client: httpx.Client
    _server: uvicorn.Server
    _thread: threading.Thread
    _sock: socket.socket
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, storage: Storage, **options: Any) -> LiveServer:
        app = create_app(storage, SECRET, **options)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=url, timeout=60)
        return cls(url, storage, app, client, server, thread, sock)

    def stop(self) -> None:
        self.client.close()
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()


@pytest.fixture
def server(storage: Storage) -> Iterator[LiveServer]:
    live = LiveServer.start(storage)
    yield live
    live.stop()


@dataclass
class ServerProcess:
    """``python -m pyserver serve`` as its own process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_server_process(
    database_url: str, data_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> ServerProcess:
    port = free_port()
    log = data_dir / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "PYSERVER_JWT_SECRET": SECRET,
        "PYSERVER_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO),
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pyserver", "serve", "--port", str(port),
             "--database-url", database_url, *extra],
            cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"the server did not answer: {log.read_text()}")
        time.sleep(0.05)
    return ServerProcess(url, process, log)


def stop_server_process(server: ServerProcess) -> None:
    stop_process(server.process, timeout=15)
