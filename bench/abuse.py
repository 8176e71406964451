"""Benchmark of the server under abuse: wrong logins, one user's GET burst, bytes per event.

Three measurements: 100 concurrent wrong logins for one learner, another user's GETs while one
user's 20 GETs run, and bytes on disk per stored event.

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

**Another user's GETs while one user's 20 GETs run** (``--measure snapshot``): user A gets
``--history`` events (20,000, PUT in batches of 500) and one GET caches A's snapshot; then
``--more`` new events (5,000, interleaved in time with the old ones, so the whole log is
reduced again) are PUT, and ``--a-gets`` (20) GETs of A are released together while user B
(50 events) GETs in a loop on its own connection. Printed: how long A's burst took, and B's
GET p50/p95/max meanwhile. Target: B's p95 <= 500 ms. ``--pyserver-root`` runs another
checkout's server (same schema) with this file, to compare before and after a change.

**Bytes on disk per stored event** (``--measure disk``): ``--disk-events`` (20,000) synthetic
events (``bench/reducer_workload.py``) PUT through the API for a fresh user into a fresh
database: the growth of the SQLite file (its WAL checkpointed) or of
``pg_total_relation_size('events')``, per event, against the event's compact JSON size; with
the split by B-tree (SQLite's ``dbstat``) or heap/indexes (PostgreSQL). No target; what the
figures say about the layout:

- SQLite (about 470 B per 261 B of JSON, 1.8x): the ``WITHOUT ROWID`` table itself is right.
  Its rows (about 340 B) are above SQLite's rule of thumb for such tables (a twentieth of a
  4 KiB page), but events are appended in key order and the measured table pages are about
  90 % payload; a rowid table would need another index on ``(user_id, position)``. The
  overhead is the keys: each row repeats the 36-character ``user_id`` text and the
  36-character ``event_id`` text (also inside the body), and the ``(user_id, event_id)``
  index repeats both again (about 80 B per event, its pages filled by random UUIDs). What
  would fix it: a small integer per user instead of the UUID text in ``events`` and its
  index (about 70 B per event less), and the event id as 16 bytes instead of 36 characters
  (about 40 B less): about 1.4x of the JSON. Compressing bodies (their keys repeat) goes
  further, at the cost of no longer assembling GET answers from the stored text as is.
- The largest events (``--disk-largest``: every id at its 128-character limit, about 1 KB of
  JSON) took 4,876 B each on SQLite (4.8x) while its pages were 4 KiB: a ``WITHOUT ROWID``
  row above about a quarter of a page spills into an overflow page of its own. New files now
  get 16 KiB pages: 1,565 B (1.5x); typical events are unchanged (about 480 B). PostgreSQL:
  1,659 B (1.6x).
- PostgreSQL (about 606 B, 2.3x): the heap adds a 28 B tuple header and item pointer per
  row to the same repeated text keys, and the two indexes hold about 210 B per event (both
  lead with the ``user_id`` text; the event-id one is filled by random inserts). The same
  fix applies (a ``bigint`` user key, the ``uuid`` type for the event id).

    .venv/bin/python bench/abuse.py                       # SQLite and PostgreSQL, all three
    .venv/bin/python bench/abuse.py --backend sqlite --clients 200 --measure logins
    .venv/bin/python bench/abuse.py --backend sqlite --measure snapshot --pyserver-root ../old

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

from bench.reducer_workload import synthetic_events  # noqa: E402
from bench.server import database  # noqa: E402
from pyserver import TokenIssuer, create_user, open_storage  # noqa: E402

SECRET = "bench-secret-" + "b" * 60
EMAIL = "learner@example.com"
SCENARIOS = ("one email", "N emails")
MEASURES = ("logins", "snapshot", "disk")
PROGRESS = "/api/v1/learning/progress"
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
def server(
    database_url: str, data_dir: Path, root: Path = REPO
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _port()
    env = {**os.environ, "PYSERVER_JWT_SECRET": SECRET, "PYSERVER_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(root)}  # fmt: skip
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pyserver", "serve", "--port", str(port),
         "--database-url", database_url],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
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


def run_backend(
    backend: str, scenario: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    data_dir = workdir / f"{backend}-{len(list(workdir.iterdir()))}"
    data_dir.mkdir()
    with database(backend, args, data_dir / "abuse.sqlite3", durable=False) as url:
        storage = open_storage(url)
        create_user(storage, EMAIL, RIGHT)
        storage.close()
        with server(url, data_dir, args.pyserver_root) as (process, port):
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


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, token: str, body: bytes | None = None
) -> bytes:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, body, headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
    return data


def put_events(port: int, token: str, events: list[dict[str, Any]]) -> None:
    """PUT ``events`` through the API in batches of 500 (the API's largest)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    for start in range(0, len(events), 500):
        chunk = events[start : start + 500]
        body = {"clientUpdatedAt": "2026-03-01T00:00:00.000Z", "events": chunk}
        _request(conn, "PUT", PROGRESS, token, json.dumps(body).encode())
    conn.close()


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _user(storage: Any, email: str) -> str:
    return TokenIssuer(SECRET).issue(create_user(storage, email, RIGHT), ttl=86_400)[0]


def run_snapshot(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """User A's 20 concurrent GETs right after a PUT that forces a recomputation, while user B
    (a small log) GETs in a loop: B's latency, and how long A's burst took."""
    data_dir = workdir / f"{backend}-{len(list(workdir.iterdir()))}"
    data_dir.mkdir()
    with database(backend, args, data_dir / "abuse.sqlite3", durable=False) as url:
        storage = open_storage(url)
        token_a, token_b = _user(storage, "a@example.com"), _user(storage, "b@example.com")
        storage.close()
        with server(url, data_dir, args.pyserver_root) as (_process, port):
            put_events(port, token_a, synthetic_events(args.history, seed=11))
            put_events(port, token_b, synthetic_events(50, seed=12))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            _request(conn, "GET", PROGRESS, token_a)  # A's snapshot computed and cached
            _request(conn, "GET", PROGRESS, token_b)
            conn.close()
            # New events interleaved in time with the old: A's snapshot is reduced again.
            put_events(port, token_a, synthetic_events(args.more, seed=13))

            connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                           for _ in range(args.a_gets)]  # fmt: skip
            for c in connections:
                c.connect()
            conn_b = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            _request(conn_b, "GET", PROGRESS, token_b)  # B's connection warm
            barrier = threading.Barrier(args.a_gets + 2)
            done = threading.Event()
            b_ms: list[float] = []

            def get_a(c: http.client.HTTPConnection) -> None:
                barrier.wait()
                _request(c, "GET", PROGRESS, token_a)

            def loop_b() -> None:
                barrier.wait()
                while not done.is_set():
                    started = time.perf_counter()
                    _request(conn_b, "GET", PROGRESS, token_b)
                    b_ms.append((time.perf_counter() - started) * 1000)

            threads = [threading.Thread(target=get_a, args=(c,)) for c in connections]
            b_thread = threading.Thread(target=loop_b)
            for thread in [*threads, b_thread]:
                thread.start()
            barrier.wait()
            started = time.perf_counter()
            for thread in threads:
                thread.join()
            a_seconds = time.perf_counter() - started
            done.set()
            b_thread.join()
            for c in [*connections, conn_b]:
                c.close()
    result = {
        "backend": backend,
        "a_seconds": a_seconds,
        "b_gets": len(b_ms),
        "b_p50": _percentile(b_ms, 0.5),
        "b_p95": _percentile(b_ms, 0.95),
        "b_max": max(b_ms),
    }
    print(f"[{backend}, snapshot] {result}", flush=True)
    return result


def _sqlite_bytes(url: str) -> int:
    """The SQLite file's size once its write-ahead log is checkpointed into it."""
    import sqlite3

    path = Path(url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


def _postgres_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT pg_total_relation_size('events')").fetchone()
    return int(row[0]) if row else 0


def _sqlite_layout(url: str) -> dict[str, int]:
    """Bytes per B-tree (table or index) from SQLite's ``dbstat`` table, when it is built in."""
    import sqlite3

    conn = sqlite3.connect(Path(url.removeprefix("sqlite:///")))
    try:
        rows = conn.execute(
            "SELECT name, sum(pgsize), sum(payload) FROM dbstat "
            "WHERE name IN ('events', 'events_by_event_id') GROUP BY name"
        ).fetchall()
    except sqlite3.Error:
        rows = []
    body = conn.execute("SELECT sum(length(CAST(body AS BLOB))) FROM events").fetchone()[0]
    conn.close()
    out = {"stored body": int(body or 0)}
    for name, size, payload in rows:
        out[name] = int(size)
        out[name + " payload"] = int(payload)
    return out


def _postgres_layout(url: str) -> dict[str, int]:
    """Bytes of the events table's heap, of its indexes, and of the stored bodies."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pg_relation_size('events'), pg_indexes_size('events'), "
            "(SELECT sum(octet_length(body)) FROM events), "
            "(SELECT sum(pg_column_size(body)) FROM events)"
        ).fetchone()
    assert row is not None
    return {"stored body": int(row[2] or 0), "body as stored": int(row[3] or 0),
            "heap": int(row[0]), "indexes": int(row[1])}  # fmt: skip


def _largest(i: int) -> dict[str, Any]:
    """The largest event the API accepts that a page could make: every id at 128 characters."""
    pad = "x" * 119
    return {
        "eventId": f"{i:09d}{pad}",
        "occurredAt": "2026-01-01T00:00:00.000Z",
        "clientId": f"c{i % 3:08d}{pad}",
        "type": "content.progressed",
        "payload": {
            "contentId": f"k{i % 500:08d}{pad}",
            "status": "completed",
            "score": 100,
            "contentVersion": f"v{i % 3:08d}{pad}",
            "interaction": {
                "interactionId": f"q{i % 500:08d}{pad}",
                "state": {"kind": "quiz", "selectedOptionId": f"o{i % 4:08d}{pad}"},
            },
        },
    }


def run_disk(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """A fresh database, a fresh user, N events PUT through the API: bytes on disk per event."""
    data_dir = workdir / f"{backend}-{len(list(workdir.iterdir()))}"
    data_dir.mkdir()
    events = synthetic_events(args.disk_events, seed=21)
    if args.disk_largest:
        events = [_largest(i) for i in range(len(events))]
    json_bytes = sum(len(json.dumps(e, separators=(",", ":")).encode()) for e in events)
    measure = _sqlite_bytes if backend == "sqlite" else _postgres_bytes
    with database(backend, args, data_dir / "abuse.sqlite3", durable=False) as url:
        storage = open_storage(url)
        token = _user(storage, "disk@example.com")
        storage.close()
        before = measure(url)
        with server(url, data_dir, args.pyserver_root) as (_process, port):
            put_events(port, token, events)
        after = measure(url)
        layout = _sqlite_layout(url) if backend == "sqlite" else _postgres_layout(url)
    n = len(events)
    result = {
        "backend": backend,
        "events": n,
        "per_event": (after - before) / n,
        "json": json_bytes / n,
        "ratio": (after - before) / json_bytes,
        **{f"{name} per event": size / n for name, size in layout.items()},
    }
    print(f"[{backend}, disk] {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--measure", choices=[*MEASURES, "all"], default="all")
    parser.add_argument("--clients", type=int, default=100, help="concurrent wrong logins")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to use")
    parser.add_argument("--recovery-limit", type=float, default=65.0, help="seconds")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both")
    parser.add_argument("--history", type=int, default=20_000, help="user A's events")
    parser.add_argument("--more", type=int, default=5_000, help="A's events PUT before the GETs")
    parser.add_argument("--a-gets", type=int, default=20, help="A's concurrent GETs")
    parser.add_argument("--disk-events", type=int, default=20_000, help="events for bytes/event")
    parser.add_argument("--disk-largest", action="store_true",
                        help="bytes/event of the largest events")  # fmt: skip
    parser.add_argument("--pyserver-root", type=Path, default=REPO,
                        help="the tree whose pyserver the server process runs")  # fmt: skip
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    measures = MEASURES if args.measure == "all" else (args.measure,)
    workdir = Path(tempfile.mkdtemp(prefix="pyserver-abuse-"))
    try:
        scenarios = SCENARIOS if args.scenario == "both" else (args.scenario,)
        results = [
            run_backend(backend, scenario, args, workdir)
            for backend in backends
            for scenario in scenarios
            if "logins" in measures
        ]
        snapshots = [run_snapshot(b, args, workdir) for b in backends if "snapshot" in measures]
        disks = [run_disk(b, args, workdir) for b in backends if "disk" in measures]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if results:
        print_logins(args, results)
    if snapshots:
        print()
        print(f"Another user's GETs while user A's {args.a_gets} concurrent GETs run, right after "
              f"A's log of {args.history} events got {args.more} more (target: B's p95 <= 500 ms)"
              )  # fmt: skip
        header = (f"{'backend':<11} {'A burst s':>9} {'B GETs':>6} {'B p50 ms':>8} "
                  f"{'B p95 ms':>8} {'B max ms':>8}  target")  # fmt: skip
        print(header)
        print("-" * len(header))
        for r in snapshots:
            met = "met" if r["b_p95"] <= 500 else "NOT met"
            print(f"{r['backend']:<11} {r['a_seconds']:>9.2f} {r['b_gets']:>6} "
                  f"{r['b_p50']:>8.0f} {r['b_p95']:>8.0f} {r['b_max']:>8.0f}  {met}")  # fmt: skip
    if disks:
        print()
        print("Bytes on disk per stored event (a fresh database, one user, events PUT through "
              "the API; growth of the file / of the events table with its indexes)")  # fmt: skip
        header = (f"{'backend':<11} {'events':>7} {'disk B/event':>12} {'JSON B/event':>12} "
                  f"{'disk/JSON':>9}  breakdown")  # fmt: skip
        print(header)
        print("-" * len(header))
        for r in disks:
            parts = ", ".join(f"{k} {v:.0f}" for k, v in r.items() if k.endswith("per event"))
            print(f"{r['backend']:<11} {r['events']:>7} {r['per_event']:>12.0f} {r['json']:>12.0f} "
                  f"{r['ratio']:>9.2f}  {parts}")  # fmt: skip


def print_logins(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
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
