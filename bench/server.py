"""Benchmark of pyserver: PUT ingest (events/s, batches of 100) and GET ``since`` latency.

The server runs as its own process (``python -m pyserver serve``); this process is the load
generator, talking HTTP/1.1 over loopback. For each backend:

1. seed: ``--events`` events over ``--users`` users, written directly through the storage
   layer (loading 1M events through HTTP would only measure ingest again, for a long time);
2. ingest: ``--ingest-events`` new events PUT through the API in batches of 100 by
   ``--writers`` concurrent connections, on top of the seeded log;
3. cold GET: the first GET of each user (1000 events on one page, the snapshot reduced from
   the whole log, then cached and persisted);
4. GET since: ``--samples`` requests of random users with their latest cursor (the steady
   state of a polling client), sequential, one connection: p50/p99;
5. PUT + GET since: a new event for a user, then its GET since (incremental snapshot update).

``--fold N`` runs one case alone instead: a user with N events on N items gets its snapshot
cached by a GET, then N new in-order events (one per item) are stored, and the next GET since,
which folds them all into the cached snapshot, is timed.

    .venv/bin/python bench/server.py                      # both backends, 1M events
    .venv/bin/python bench/server.py --backend sqlite --events 100000
    .venv/bin/python bench/server.py --backend sqlite --fold 20000

Needs PostgreSQL's binaries for the PostgreSQL run (or ``--postgres-url``). Prints a table;
never fails on time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pyserver import TokenIssuer, open_storage  # noqa: E402
from tests.pyserver.pgcluster import PostgresCluster, find_bindir  # noqa: E402

SECRET = "bench-secret-" + "b" * 60
STATUSES = ["in_progress", "completed", "passed", "not_started"]
BASE_SECONDS = 1_766_000_000


def _timestamp(seconds: int, millis: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def event_json(user: int, index: int, prefix: str = "s", items: int = 150) -> tuple[str, str]:
    """An event as the server stores it (the same text ``model_dump_json`` writes)."""
    event_id = f"{prefix}-{user}-{index}"
    occurred = _timestamp(BASE_SECONDS + index * 60, index % 1000)
    body = (
        f'{{"eventId":"{event_id}","occurredAt":"{occurred}","clientId":"bench-{user}",'
        f'"type":"content.progressed","payload":{{"contentId":"item-{index % items}",'
        f'"status":"{STATUSES[index % 4]}","score":{index % 101}}}}}'
    )
    return event_id, body


# --------------------------------------------------------------------------- seeding


def seed(database_url: str, users: int, total: int) -> float:
    storage = open_storage(database_url)
    per_user = total // users
    started = time.perf_counter()
    try:
        for user in range(users):
            for start in range(0, per_user, 1000):
                batch = [event_json(user, i) for i in range(start, min(per_user, start + 1000))]
                storage.append_events(f"user-{user}", batch)
    finally:
        storage.close()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- server


def start_server(database_url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYSERVER_JWT_SECRET": SECRET,
        "PYSERVER_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pyserver", "serve", "--port", str(port),
         "--database-url", database_url],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not start")


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.issuer = TokenIssuer(SECRET)
        self.tokens: dict[str, str] = {}

    def _headers(self, user: str) -> dict[str, str]:
        token = self.tokens.get(user)
        if token is None:
            token = self.tokens[user] = self.issuer.issue(user)[0]
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, user: str, body: bytes | None = None) -> bytes:
        self.conn.request(method, path, body=body, headers=self._headers(user))
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return data


def put_body(user: int, start: int, count: int, prefix: str) -> bytes:
    events = ",".join(event_json(user, i, prefix)[1] for i in range(start, start + count))
    return f'{{"clientUpdatedAt":"2025-12-22T20:36:50.595Z","events":[{events}]}}'.encode()


# --------------------------------------------------------------------------- phases


def ingest(port: int, users: int, total: int, writers: int) -> float:
    batches = total // 100
    jobs = [(f"ingest-user-{b % users}", put_body(b % users, 100_000 + b * 100, 100, "i"))
            for b in range(batches)]  # fmt: skip
    lanes = [jobs[w::writers] for w in range(writers)]
    errors: list[BaseException] = []

    def run(lane: list[tuple[str, bytes]]) -> None:
        client = Client(port)
        try:
            for user, body in lane:
                client.request("PUT", "/api/v1/learning/progress", user, body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return batches * 100 / elapsed


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1000, p99 * 1000, ordered[-1] * 1000


def cold_gets(port: int, users: int) -> tuple[dict[str, str], list[float]]:
    client = Client(port)
    cursors: dict[str, str] = {}
    times: list[float] = []
    for user in range(users):
        name = f"user-{user}"
        started = time.perf_counter()
        data = json.loads(client.request("GET", "/api/v1/learning/progress?limit=5000", name))
        times.append(time.perf_counter() - started)
        cursors[name] = data["data"]["cursor"]
    return cursors, times


def since_gets(port: int, cursors: dict[str, str], samples: int) -> list[float]:
    client = Client(port)
    rng = random.Random(7)
    names = list(cursors)
    times = []
    for _ in range(samples):
        name = rng.choice(names)
        path = f"/api/v1/learning/progress?since={cursors[name]}"
        started = time.perf_counter()
        client.request("GET", path, name)
        times.append(time.perf_counter() - started)
    return times


def put_then_since(port: int, cursors: dict[str, str], samples: int) -> list[float]:
    client = Client(port)
    rng = random.Random(8)
    names = list(cursors)
    times = []
    for n in range(samples):
        name = rng.choice(names)
        user = int(name.rsplit("-", 1)[1])
        client.request(
            "PUT", "/api/v1/learning/progress", name, put_body(user, 500_000 + n, 1, "p")
        )
        started = time.perf_counter()
        data = json.loads(
            client.request("GET", f"/api/v1/learning/progress?since={cursors[name]}", name)
        )
        times.append(time.perf_counter() - started)
        cursors[name] = data["data"]["cursor"]
    return times


def fold_case(url: str, data_dir: Path, count: int) -> tuple[float, float]:
    """(cold GET s, GET since s) for ``count`` new in-order events folded onto ``count`` items."""
    user, name = 0, "fold-user"
    storage = open_storage(url)
    try:
        storage.append_events(name, [event_json(user, i, "f", count) for i in range(count)])
    finally:
        storage.close()
    port = _port()
    server = start_server(url, data_dir, port)
    try:
        client = Client(port)
        started = time.perf_counter()
        data = json.loads(client.request("GET", "/api/v1/learning/progress?limit=5000", name))
        cold = time.perf_counter() - started
        storage = open_storage(url)
        try:  # stored as a PUT would store them, without timing the PUT
            new = [event_json(user, i, "g", count) for i in range(count, 2 * count)]
            storage.append_events(name, new)
        finally:
            storage.close()
        path = f"/api/v1/learning/progress?since={data['data']['cursor']}"
        started = time.perf_counter()
        client.request("GET", path, name)
        return cold, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def database(
    backend: str, args: argparse.Namespace, sqlite_file: Path, *, durable: bool = True
) -> Iterator[str]:
    """The URL of a database for `backend`: a SQLite file, --postgres-url, or a PostgreSQL
    cluster of its own (stopped when the block ends; ``durable``: fsync on)."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    if args.postgres_url:
        yield args.postgres_url
        return
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: give --postgres-url or --backend sqlite")
    cluster = PostgresCluster(bindir, durable=durable)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def run_fold(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    with database(backend, args, workdir / "fold.sqlite3") as url:
        cold, since = fold_case(url, workdir / f"fold-{backend}", args.fold)
    print(f"{backend:<11} {args.fold:,} events on {args.fold:,} items: cold GET {cold:.2f} s; "
          f"GET since after {args.fold:,} new in-order events {since:.2f} s")  # fmt: skip


# --------------------------------------------------------------------------- main


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with database(backend, args, workdir / "bench.sqlite3") as url:
        print(
            f"[{backend}] seeding {args.events:,} events over {args.users:,} users ...", flush=True
        )
        seed_seconds = seed(url, args.users, args.events)
        print(f"[{backend}] seeded in {seed_seconds:.0f} s; starting the server", flush=True)
        port = _port()
        server = start_server(url, workdir / f"data-{backend}", port)
        try:
            rate = ingest(port, args.users, args.ingest_events, args.writers)
            print(f"[{backend}] ingest {rate:,.0f} events/s", flush=True)
            cursors, cold = cold_gets(port, args.users)
            warm = since_gets(port, cursors, args.samples)
            after_put = put_then_since(port, cursors, min(args.samples, 1000))
        finally:
            server.terminate()
            server.wait(timeout=30)
        return {
            "backend": backend,
            "seed_s": seed_seconds,
            "ingest": rate,
            "cold": _percentiles(cold),
            "since": _percentiles(warm),
            "after_put": _percentiles(after_put),
        }


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=1_000_000, help="events seeded")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--ingest-events", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=4, help="concurrent PUT connections")
    parser.add_argument("--samples", type=int, default=5000, help="GET since requests")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to use")
    parser.add_argument("--fold", type=int, metavar="N", help="only the fold case, N events")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    workdir = Path(tempfile.mkdtemp(prefix="pyserver-bench-"))
    if args.fold:
        try:
            for backend in backends:
                run_fold(backend, args, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    results = []
    try:
        for backend in backends:
            results.append(run_backend(backend, args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"{args.events:,} events seeded over {args.users:,} users (storage layer); "
          f"ingest: {args.ingest_events:,} events over HTTP, batches of 100, "
          f"{args.writers} connections; GET since: {args.samples:,} sequential requests"
          )  # fmt: skip
    header = (f"{'backend':<11} {'seed s':>7} {'ingest ev/s':>12} {'cold GET p50/p99 ms':>21} "
              f"{'GET since p50/p99/max ms':>25} {'PUT+GET since p50/p99 ms':>25}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in results:
        cold, since, after = r["cold"], r["since"], r["after_put"]
        print(f"{r['backend']:<11} {r['seed_s']:>7.0f} {r['ingest']:>12,.0f} "
              f"{cold[0]:>10.1f}/{cold[1]:<10.1f} "
              f"{since[0]:>10.2f}/{since[1]:.2f}/{since[2]:<8.1f} "
              f"{after[0]:>12.2f}/{after[1]:<12.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
