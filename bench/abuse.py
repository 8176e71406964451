"""Benchmark of the login under abuse: 100 concurrent wrong logins for one learner.

The server runs as its own process (``python -m pyserver serve``, default settings); this
process is the attacker: ``--clients`` threads, each with its own HTTP/1.1 connection over
loopback, released together, each sending one wrong password for the same email. Measured:

- peak server RSS: the server process's ``VmHWM`` (its resident high-water mark, from
  ``/proc/<pid>/status``), and its RSS before the burst;
- how many attempts reached a password check: the 401 answers (a wrong password is only
  answered 401 after its hash was checked; a refusal before the check answers 429);
- how long the burst took, and after it, how long until the right password gets in
  (polled every 0.5 s, given up after ``--recovery-limit`` seconds).

A second scenario ("N emails") sends the burst's wrong logins for N different emails from
the one address: then the per-address limit decides how many are checked, and the bound on
concurrent password checks what they cost in memory.

Targets: peak RSS <= 600 MB, then <= 300 MB; at most 12 password checks; the right password
in within a minute of the attack.

    .venv/bin/python bench/abuse.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/abuse.py --backend sqlite --clients 200

Needs Linux (``/proc``) and, for the PostgreSQL run, PostgreSQL's binaries (or
``--postgres-url``). Prints a table; never fails on a target.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pyserver import create_user, open_storage  # noqa: E402
from tests.pyserver.pgcluster import PostgresCluster, find_bindir  # noqa: E402

SECRET = "bench-secret-" + "b" * 60
EMAIL = "learner@example.com"
SCENARIOS = ("one email", "N emails")
RIGHT = "the right password"


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


@contextmanager
def server(database_url: str, data_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _port()
    env = {**os.environ, "PYSERVER_JWT_SECRET": SECRET, "PYSERVER_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(REPO)}  # fmt: skip
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pyserver", "serve", "--port", str(port),
         "--database-url", database_url],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data_dir / "server.log").read_text())
            time.sleep(0.05)
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def login(
    port: int,
    password: str,
    conn: http.client.HTTPConnection | None = None,
    email: str = EMAIL,
) -> int:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    body = json.dumps({"email": email, "password": password})
    conn.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status


def burst(port: int, clients: int, distinct: bool) -> tuple[Counter[int], float]:
    connections = []
    for _ in range(clients):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.connect()
        connections.append(conn)
    barrier = threading.Barrier(clients + 1)
    statuses: list[int] = []

    def attempt(conn: http.client.HTTPConnection, email: str) -> None:
        barrier.wait()
        try:
            statuses.append(login(port, "a wrong guess", conn, email))
        except OSError:
            statuses.append(0)

    emails = [f"other{n}@example.com" if distinct else EMAIL for n in range(clients)]
    threads = [
        threading.Thread(target=attempt, args=(conn, email))
        for conn, email in zip(connections, emails, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for conn in connections:
        conn.close()
    return Counter(statuses), elapsed


def recovery(port: int, limit: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if login(port, RIGHT) == 200:
            return time.perf_counter() - started
        time.sleep(0.5)
    return None


@contextmanager
def database(backend: str, args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'abuse.sqlite3'}"
        return
    if args.postgres_url:
        yield args.postgres_url
        return
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed; pass --postgres-url or --backend sqlite")
    cluster = PostgresCluster(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def run_backend(
    backend: str, scenario: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    data_dir = workdir / f"{backend}-{len(list(workdir.iterdir()))}"
    data_dir.mkdir()
    with database(backend, args, data_dir) as url:
        storage = open_storage(url)
        create_user(storage, EMAIL, RIGHT)
        storage.close()
        with server(url, data_dir) as (process, port):
            rss_before = _status_kib(process.pid, "VmRSS")
            statuses, seconds = burst(port, args.clients, scenario != "one email")
            peak = _status_kib(process.pid, "VmHWM")
            back_in = recovery(port, args.recovery_limit)
    result = {
        "backend": backend,
        "scenario": scenario.replace("N", str(args.clients)),
        "rss_before": rss_before / 1024,
        "peak": peak / 1024,
        "checked": statuses[401],
        "refused": statuses[429],
        "other": sum(n for status, n in statuses.items() if status not in (401, 429)),
        "seconds": seconds,
        "back_in": back_in,
    }
    print(f"[{backend}, {scenario}] {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=100, help="concurrent wrong logins")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to use")
    parser.add_argument("--recovery-limit", type=float, default=65.0, help="seconds")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    workdir = Path(tempfile.mkdtemp(prefix="pyserver-abuse-"))
    try:
        scenarios = SCENARIOS if args.scenario == "both" else (args.scenario,)
        results = [
            run_backend(backend, scenario, args, workdir)
            for backend in backends
            for scenario in scenarios
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"{args.clients} concurrent wrong logins from one address, one server process "
          f"(targets: peak RSS <= 600 MB, then <= 300 MB; <= 12 password checks for one email)"
          )  # fmt: skip
    header = (f"{'backend':<11} {'scenario':<11} {'RSS before MB':>13} {'peak RSS MB':>11} "
              f"{'checked (401)':>13} {'refused (429)':>13} {'other':>5} {'burst s':>7} "
              f"{'right password in':>17}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in results:
        back_in = f"{r['back_in']:.1f} s" if r["back_in"] is not None else (
            f"> {args.recovery_limit:.0f} s")  # fmt: skip
        print(f"{r['backend']:<11} {r['scenario']:<11} {r['rss_before']:>13.0f} {r['peak']:>11.0f} "
              f"{r['checked']:>13} {r['refused']:>13} {r['other']:>5} {r['seconds']:>7.2f} "
              f"{back_in:>17}")  # fmt: skip


if __name__ == "__main__":
    main()
