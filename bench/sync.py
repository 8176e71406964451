"""The sync client in Chromium: record latency, localStorage capacity, push and pull of 10k.

    .venv/bin/python bench/sync.py [--samples 60] [--sizes 1000,10000,30000]   (--sizes "": skip 1.)

Runs `python -m pyserver serve --web dist/web` (a fresh data directory) and system Chromium.
Events come from ``bench/reducer_workload.py`` (all five types, about 500 content ids, UUID
ids), stored as the client itself stores them (``bench/client_storage.py``).

1. Record latency: a guest log of N events is put in localStorage, the page is loaded, then
   ``recordProgress`` is called ``--samples`` times (10 ms apart). One call returns once the
   event is validated, applied to the snapshot, the log, snapshot cache (and for a signed-in
   user the sync metadata) written to localStorage, and subscribers notified: its duration is
   "recorded action -> snapshot updated and persisted". p50 / p95 per N, for a guest and for a
   signed-in user whose N events are all synced.
2. Capacity: the largest N whose stored log, snapshot cache and client id fit together in this
   origin's localStorage (bisection in the browser, the real quota), then the real client:
   loaded with a little less, it records until it reports storage full.
3. Push / pull: a guest with 10k events signs in (the bootstrap pushes them: 20 PUTs), then a
   fresh browser profile signs in as the same user (the bootstrap pulls the 10k). Times from the
   ``signIn`` call to ``synced`` with nothing pending.

Targets: p95 <= 16 ms at 10k; >= 50,000 events fit; 10k events synced in <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.client_storage import client_storage  # noqa: E402
from bench.reducer_workload import synthetic_events  # noqa: E402
from e2e.chromium import CHROMIUM_ARGS, READY, chromium_path  # noqa: E402
from pyclient import parse_events  # noqa: E402
from pyclient.adapters.cpython import MemoryStorage, SystemClock  # noqa: E402
from pyclient.store.local_store import LocalStore  # noqa: E402

CLIENT_ID = "bench-client"
PASSWORD = "bench-password"

RECORD_SAMPLES = """async (n) => {
  const out = []
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    const t0 = performance.now()
    progressClient.recordProgress({contentId: 'bench-' + (i % 50),
      status: i % 3 ? 'in_progress' : 'completed', score: i % 100})
    out.push(performance.now() - t0)
  }
  return out
}"""

FITS = """(items) => {
  localStorage.clear()
  try {
    for (const [k, v] of Object.entries(items)) localStorage.setItem(k, v)
    return true
  } catch (e) {
    if (e.name !== 'QuotaExceededError') throw e
    return false
  } finally {
    localStorage.clear()
  }
}"""

RECORD_UNTIL_FULL = """async (limit) => {
  for (let i = 0; i < limit; i++) {
    const args = {contentId: 'fill-' + (i % 400), status: 'in_progress', score: i % 100}
    progressClient.recordProgress(args)
    if (progressClient.status.storageWarning) return i  // events recorded and saved before it
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 0))
  }
  return null
}"""


# --------------------------------------------------------------------------- server, storage


@contextmanager
def pyserver(data: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYSERVER_DATA_DIR": str(data)}
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyserver", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--web", str(ROOT / "dist" / "web")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("pyserver did not start") from None
                time.sleep(0.2)
        yield url, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def add_user(env: dict[str, str], email: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "pyserver", "users", "add", email],
        cwd=ROOT, env=env, input=PASSWORD + "\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def login(url: str, email: str) -> tuple[str, str]:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    req = urllib.request.Request(url + "api/v1/auth/login", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        data = json.loads(r.read())["data"]
    return data["token"], data["userId"]


def put_all(url: str, token: str, events: list[dict[str, Any]]) -> None:
    for i in range(0, len(events), 500):
        body = json.dumps(
            {"clientUpdatedAt": "2026-01-01T00:00:00.000Z", "events": events[i : i + 500]}
        ).encode()
        req = urllib.request.Request(url + "api/v1/learning/progress", data=body, method="PUT")
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30):
            pass


def stored_items(
    events: list[dict[str, Any]], user: tuple[str, str] | None = None
) -> dict[str, str]:
    """localStorage as the client writes it: a guest, or a signed-in user with all synced."""
    parsed = list(parse_events(json.dumps(events)))
    items = client_storage(parsed, None if user is None else user[1], CLIENT_ID)
    if user is not None:
        items["learning_progress_session"] = json.dumps(
            {"v": 1, "token": user[0], "userId": user[1], "expiresAt": None}
        )
    return items


def stored_count(page: Any, user: str | None) -> int:
    """How many events the page's stored log holds (every key of it, read as the client)."""
    key = "learning_progress_events" + ("" if user is None else f":{user}")
    storage = MemoryStorage()
    storage.data = page.evaluate(
        "(key) => Object.fromEntries(Object.keys(localStorage)"
        ".filter((k) => k.startsWith(key)).map((k) => [k, localStorage.getItem(k)]))",
        key,
    )
    store = LocalStore(storage, SystemClock())
    count = len(store.read_events(user))
    assert not store.warnings, store.warnings
    return count


def seed(page: Any, url: str, items: dict[str, str]) -> None:
    page.goto(url + "bench-seed-404")  # any page of the origin: localStorage is per origin
    page.evaluate(
        "(items) => { localStorage.clear();"
        " for (const [k, v] of Object.entries(items)) localStorage.setItem(k, v) }",
        items,
    )


def open_client(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function(READY, timeout=180_000)
    err = page.evaluate("document.documentElement.dataset.progressError || null")
    if err:
        raise RuntimeError(f"the page failed: {err}")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- measurements


def record_latency(
    browser: Any, url: str, events: list[dict[str, Any]], samples: int, user: Any
) -> list[float]:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        seed(page, url, stored_items(events, user))
        open_client(page, url)
        if user is not None:
            page.wait_for_function(
                "() => progressClient.status.state === 'synced'", timeout=120_000
            )
        out: list[float] = page.evaluate(RECORD_SAMPLES, samples)
        kept = stored_count(page, None if user is None else user[1])
        assert kept == len(events) + samples, "not persisted"
        return out
    finally:
        ctx.close()


def capacity(browser: Any, url: str) -> tuple[int, int | None]:
    """(largest N that fits, events held by the real client when it reports storage full)."""
    pool = synthetic_events(240_000, seed=3)
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(url + "bench-seed-404")
        lo, hi = 10_000, len(pool)
        while hi - lo > 50:
            mid = (lo + hi) // 2
            if page.evaluate(FITS, stored_items(pool[:mid])):
                lo = mid
            else:
                hi = mid
        fits = lo
        # the real client, from a little below the limit, until it says storage is full
        start = max(0, fits - 100)
        seed(page, url, stored_items(pool[:start]))
        open_client(page, url)
        saved = page.evaluate(RECORD_UNTIL_FULL, 1000)
        return fits, None if saved is None else start + saved
    finally:
        ctx.close()


def push_pull(browser: Any, url: str, env: dict[str, str]) -> tuple[float, float, int]:
    events = synthetic_events(10_000, seed=5)
    email = f"bench-{time.time_ns()}@example.com"
    add_user(env, email)
    settled = (
        "() => progressClient.status.state === 'synced' && progressClient.status.pending === 0"
    )
    timings = []
    for items in (stored_items(events), {}):
        ctx = browser.new_context()
        try:
            page = ctx.new_page()
            seed(page, url, items)
            open_client(page, url)
            t0 = time.perf_counter()
            page.evaluate(
                "([email, password]) => progressClient.signIn({email, password})",
                [email, PASSWORD],
            )
            page.wait_for_function(settled, timeout=120_000, polling=20)
            timings.append(time.perf_counter() - t0)
            count = page.evaluate("Object.keys(progressClient.snapshot.content).length")
        finally:
            ctx.close()
    token, _ = login(url, email)
    req = urllib.request.Request(url + "api/v1/learning/progress?limit=5000")
    req.add_header("Authorization", f"Bearer {token}")
    total = 0
    cursor = None
    while True:
        q = f"&since={cursor}" if cursor else ""
        req = urllib.request.Request(url + f"api/v1/learning/progress?limit=5000{q}")
        req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            data = json.loads(r.read())["data"]
        total += len(data["events"])
        cursor = data["cursor"]
        if not data["hasMore"]:
            break
    assert total == len(events), f"the server holds {total} events"
    assert count > 0
    return timings[0], timings[1], total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--sizes", default="1000,10000,30000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]  # "": skip the latency runs
    if subprocess.run([sys.executable, str(ROOT / "build.py"), "--no-test-runtime"]).returncode:
        return 1
    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, str, str]] = []
    with (
        tempfile.TemporaryDirectory() as data,
        pyserver(Path(data)) as (url, env),
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for n in sizes:
            events = synthetic_events(n, seed=11)
            for who in ("guest", "signed in"):
                user = None
                if who == "signed in":
                    email = f"bench-{n}-{time.time_ns()}@example.com"
                    add_user(env, email)
                    user = login(url, email)
                    put_all(url, user[0], events)
                lat = record_latency(browser, url, events, args.samples, user)
                target = "<= 16 ms" if n == 10_000 else ""
                met = ("met" if pct(lat, 0.95) <= 16 else "NOT met") if target else ""
                rows.append(
                    (
                        f"record -> persisted, {n:,} stored ({who})",
                        f"p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 0.95):.1f} ms"
                        f" (max {max(lat):.1f})",
                        f"{target} {met}".strip(),
                    )
                )
                print(rows[-1], flush=True)
        fits, client_full = capacity(browser, url)
        rows.append(
            (
                "events that fit in localStorage (guest, stored format)",
                f"{fits:,} (bisection, +-50)",
                ">= 50,000 " + ("met" if fits >= 50_000 else "NOT met"),
            )
        )
        rows.append(
            (
                "  the real client records until storage is full at",
                "-" if client_full is None else f"{client_full:,} events",
                "",
            )
        )
        print(rows[-2:], flush=True)
        push, pull, total = push_pull(browser, url, env)
        rows.append(
            (
                f"push {total:,} pending (signIn: bootstrap + 20 PUTs)",
                f"{push:.2f} s",
                "<= 3 s " + ("met" if push <= 3 else "NOT met"),
            )
        )
        rows.append(
            (
                f"pull {total:,} (signIn on a fresh profile)",
                f"{pull:.2f} s",
                "<= 3 s " + ("met" if pull <= 3 else "NOT met"),
            )
        )
        browser.close()
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print()
    print(f"{'measure':<{widths[0]}}  {'result':<{widths[1]}}  target")
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
