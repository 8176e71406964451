"""The servers the browser tests load the page from: `python -m pyserver serve --web dist/web`
as a context manager (`run_pyserver`) or stoppable and restartable on one origin
(`LearningServer`). The static server is scripts/static_server.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunningServer:
    name: str
    url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PyServer:
    """A running `python -m pyserver serve` process: its URL, data directory and environment."""

    url: str
    data_dir: Path
    env: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `python -m pyserver ARGS` against this server's data; its stdout, stripped."""
        proc = subprocess.run(
            [sys.executable, "-m", "pyserver", *args],
            cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return proc.stdout.strip()

    def add_user(self, email: str, password: str) -> str:
        return self.cli("users", "add", email, stdin=password + "\n")


@contextmanager
def run_pyserver(dist_web: Path, data: Path, *extra: str) -> Iterator[PyServer]:
    """`python -m pyserver serve --web dist/web [extra]` on a free port, until the block ends."""
    port = free_port()
    env = {**os.environ, "PYSERVER_DATA_DIR": str(data)}
    log_path = data / "server.log"
    url = f"http://127.0.0.1:{port}/"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyserver", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--web", str(dist_web), *extra],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"pyserver serve did not start:\n{log_path.read_text()}")
                    time.sleep(0.2)
            yield PyServer(url, data, env)
        finally:
            stop_process(proc)


class LearningServer:
    """`python -m pyserver serve --web dist/web --demo [extra]` on a fixed port and data
    directory, so that it can be stopped and started again (the page keeps its origin); the dist
    it serves may change between runs (`dist_web`)."""

    def __init__(self, dist_web: Path, data: Path, *extra: str) -> None:
        self.port = free_port()
        self.extra = extra
        self.dist_web = dist_web
        self.data = data
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {**os.environ, "PYSERVER_DATA_DIR": str(data)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.data / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyserver", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--web", str(self.dist_web), "--demo", *self.extra],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"pyserver did not start:\n{(self.data / 'server.log').read_text()}"
                    )
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
        self.proc = None

    def add_user(self, email: str, password: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "pyserver", "users", "add", email],
            cwd=ROOT, env=self.env, input=password + "\n", text=True, capture_output=True,
            check=True,
        )  # fmt: skip
