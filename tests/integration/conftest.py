"""The integration tests' server: a real ``pyserver`` process on SQLite on a free port, one
per test module (the ``server`` fixture), with helpers to issue tokens and read its events."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..processes import stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.env = {
            **os.environ,
            "PYSERVER_DATA_DIR": str(tmp / "data"),
            "PYSERVER_JWT_SECRET": "integration-secret-" + "x" * 32,
            **(env or {}),
        }
        db = f"sqlite:///{tmp / 'progress.db'}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pyserver",
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                db,
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/health", timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(stderr) from None
                time.sleep(0.1)
        raise RuntimeError("pyserver did not start")

    def token(self, user_id: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "pyserver", "token", user_id],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def events(self, token: str) -> list[dict[str, object]]:
        request = urllib.request.Request(
            f"{self.base}/learning/progress?limit=5000",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return list(json.load(response)["data"]["events"])

    def stop(self) -> None:
        stop_process(self.process)
        if self.process.stderr:
            self.process.stderr.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("pyserver"))
    yield running
    running.stop()
