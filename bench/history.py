"""A long learning history costs nothing: recording, reloading and the main thread in Chromium
for a signed-in learner with 1k to 100k events of history on the server.

    .venv/bin/python bench/history.py [--sizes 1000,10000,50000,100000] [--records 60] [--runs 3]
                                      [--window 8] [--reseed] [--build]

For each size N, a real `python -m pyserver serve --web dist/web` on SQLite holds one user's
N events, put through the API (PUTs as large as its limits allow, DESIGN §4): a learner's
history of this course (content.progressed on its lessons and quizzes as the page records
them, a few onboarding and activePath events, two devices, about nine months). The seeded data
directory is kept in `.cache/bench-history/` (one per size, reused until `--reseed` or the
course changes); every run serves a copy of it. The dist is built when missing (`--build`:
always). System Chromium (e2e/chromium.py), one fresh browser context per size:

1. Sign in: the learning page is opened (a guest), `progressClient.signIn` is called and the
   history is pulled until the status is `synced` with nothing pending (the time is printed).
2. Record: `recordProgress` is called `--records` times (250 ms apart, and every tenth record
   2 s after the one before, so that the debounced syncs run in between as in real use), with
   lessons and quiz answers of the course as the page records them. "Record" is the time from
   the call until the next animation frame after it returns (or its promise resolves): the
   event validated, applied, persisted and the page re-rendered (synchronously, in its
   subscriber). "+ paint" adds that frame's style, layout and paint (from the animation
   frame's callback to a task posted in it). The same loop without a record gives the idle
   frame wait and rendering, printed beside them. The targets are checked on "record".
3. Reload -> ready: the page is reloaded (same context: localStorage holds the history and
   the session) `--runs` times; the time from navigation start to the page's `progress-ready`
   mark (the client ready; `pyclient-ready`, Python and the packages loaded, is printed too:
   what lies between them is what the history costs the start). Medians.
4. Long tasks: a buffered `longtask` PerformanceObserver is installed before every navigation.
   After each reload, the longest stretch the main thread was blocked from the ready mark until
   `progressClient.historyVerified()` resolves (the background full recomputation finished),
   when the client has that method; otherwise during a fixed `--window` seconds after ready.
   The longest over the runs, and the median time from ready to verified when available.

Targets: record p95 at 50k <= 16 ms and <= 1.5 x its value at 1k; reload -> ready at 50k
<= 1.3 x at 1k.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from e2e.chromium import CHROMIUM_ARGS, READY, chromium_path  # noqa: E402
from e2e.servers import run_pyserver  # noqa: E402
from pyclient.core.limits import MAX_BODY_BYTES, MAX_EVENTS_PER_PUT  # noqa: E402

# The history is seeded through the API in as few PUTs as its limits allow, all at once: the
# per-user PUT rate limit (which a client waits out) would only slow the seeding down.
os.environ.setdefault("PYSERVER_PUT_RATE_LIMIT", "none")

DIST_WEB = ROOT / "dist" / "web"
CACHE = ROOT / ".cache" / "bench-history"
SEED_VERSION = 1  # bump when the generated history changes: the cached data directories are redone
EMAIL = "learner@example.com"
PASSWORD = "bench-password"
SETTLED = "() => progressClient.status.state === 'synced' && progressClient.status.pending === 0"

# Installed before every navigation of the context: long tasks from the start of the page.
LONGTASKS = """(() => {
  window.__benchLongTasks = []
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__benchLongTasks.push([e.startTime, e.duration])
    }).observe({ type: 'longtask', buffered: true })
  } catch (e) {
    window.__benchLongTasks = null
  }
})()"""

# RECORDS without a record: the wait for the next frame, and a frame's rendering, with no change.
IDLE_FRAMES = """async (n) => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
  const posted = () => new Promise((resolve) => setTimeout(resolve, 0))
  const out = []
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const t0 = performance.now()
    let t3 = null
    const t2 = await frame().then(() => {
      const at = performance.now()
      posted().then(() => { t3 = performance.now() })
      return at
    })
    while (t3 === null) await posted()
    out.push({ wall: t2 - t0, busy: t3 - t2 })
  }
  return out
}"""

RECORDS = """async ([n, items]) => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
  const posted = () => new Promise((resolve) => setTimeout(resolve, 0))
  const out = []
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, i % 10 === 9 ? 2000 : 250))
    const item = items[i % items.length]
    const args = { contentId: item.contentId, contentVersion: item.contentVersion }
    if (item.interactionId) {
      const option = item.options[i % item.options.length]
      const submit = i % 2 === 1
      Object.assign(args, {
        status: submit ? (option === item.correct ? 'passed' : 'completed') : 'in_progress',
        interaction: {
          interactionId: item.interactionId,
          state: { kind: 'quiz', selectedOptionId: option },
        },
      })
      if (submit) args.score = option === item.correct ? item.score : 0
    } else {
      args.status = i % 2 ? 'completed' : 'in_progress'
    }
    const t0 = performance.now()
    await progressClient.recordProgress(args)  // an eventId today; a promise would be awaited
    const t1 = performance.now()
    let t3 = null
    const t2 = await frame().then(() => {
      const at = performance.now()
      posted().then(() => { t3 = performance.now() })
      return at
    })
    while (t3 === null) await posted()
    out.push({ wall: t2 - t0, busy: t1 - t0 + (t3 - t2) })
  }
  return out
}"""

# After a reload: the marks, then the long tasks from ready until the history is verified (when
# the client can say so) or for a fixed window.
AFTER_READY = """async (windowMs) => {
  const mark = (n) => {
    const e = performance.getEntriesByName(n)
    return e.length ? e[0].startTime : null
  }
  const ready = mark('progress-ready')
  const client = window.progressClient
  let verified = null
  let timedOut = false
  if (typeof client.historyVerified === 'function') {
    const limit = new Promise((resolve) => setTimeout(() => resolve('timeout'), 120000))
    const verify = Promise.resolve(client.historyVerified()).then(() => 'ok')
    const done = await Promise.race([verify, limit])
    if (done === 'ok') verified = performance.now() - ready
    else timedOut = true
  } else {
    const left = ready + windowMs - performance.now()
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left))
  }
  const end = performance.now()
  // the observer reports a long task once it has ended: give it a moment
  await new Promise((resolve) => setTimeout(resolve, 200))
  const tasks = window.__benchLongTasks
  let longest = null
  if (tasks !== null) {
    longest = 0
    for (const [start, duration] of tasks) {
      const blocked = Math.min(start + duration, end) - Math.max(start, ready)
      if (blocked > longest) longest = blocked
    }
  }
  return {
    ready,
    pyclient_ready: mark('pyclient-ready'),
    verified,
    timed_out: timedOut,
    longest,
    signed_in: client.status.userId,
    state: client.status.state,
    storage_warning: client.status.storageWarning,
  }
}"""

STORAGE_CHARS = """() => Object.keys(localStorage).filter((k) => k.startsWith('learning_progress_'))
  .reduce((n, k) => n + k.length + localStorage.getItem(k).length, 0)"""


# --------------------------------------------------------------------------- the history


def course_items() -> list[dict[str, Any]]:
    """The course's lessons and quizzes (English), as the page records them."""
    items = json.loads((ROOT / "web" / "content" / "en" / "items.json").read_text())["items"]
    out = []
    for item in items:
        entry: dict[str, Any] = {
            "contentId": item["contentId"],
            "contentVersion": item.get("contentVersion"),
        }
        if item["kind"] == "quiz":
            entry.update(
                interactionId=item["interactionId"],
                options=[o["id"] for o in item["options"]],
                correct=item["correctOptionId"],
                score=item["score"],
            )
        out.append(entry)
    return out


def path_ids() -> list[str]:
    paths = json.loads((ROOT / "web" / "content" / "en" / "paths.json").read_text())["paths"]
    return [p["pathId"] for p in paths]


def _stamp(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def learner_history(count: int, seed: int = 17) -> list[dict[str, Any]]:
    """`count` events of one learner on this course, in the order they happened: opening and
    completing lessons, choosing, submitting and retrying quiz answers, now and then choosing a
    path again or switching the active one; a laptop on most days, a phone on the others; from
    March to December 2025."""
    rng = random.Random(seed)
    items, paths = course_items(), path_ids()
    laptop, phone = (str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(2))
    start, span = 1_740_787_200_000, 275 * 86_400_000  # 2025-03-01, about nine months
    stamps = sorted(start + rng.randrange(span) for _ in range(count))
    events: list[dict[str, Any]] = []
    for i, ms in enumerate(stamps):
        day = (ms - start) // 86_400_000
        event: dict[str, Any] = {
            "eventId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "occurredAt": _stamp(ms),
            "clientId": phone if day % 3 == 2 else laptop,
        }
        roll = rng.random()
        if i == 0 or roll < 0.002:
            event.update(type="onboarding.completed", payload={"pathId": rng.choice(paths)})
        elif roll < 0.006:
            event.update(type="activePath.set", payload={"pathId": rng.choice(paths)})
        else:
            item = rng.choice(items)
            payload: dict[str, Any] = {"contentId": item["contentId"]}
            if item["contentVersion"]:
                payload["contentVersion"] = item["contentVersion"]
            if "interactionId" in item:
                action = rng.random()
                option = rng.choice(item["options"])
                state: dict[str, Any] | None = {"kind": "quiz", "selectedOptionId": option}
                if action < 0.5:  # an option chosen
                    payload["status"] = "in_progress"
                elif action < 0.85:  # submitted
                    right = option == item["correct"]
                    payload.update(
                        status="passed" if right else "completed",
                        score=item["score"] if right else 0,
                    )
                else:  # a retry clears the answer
                    payload["status"] = "in_progress"
                    state = None
                payload["interaction"] = {"interactionId": item["interactionId"], "state": state}
            else:
                payload["status"] = "in_progress" if rng.random() < 0.6 else "completed"
            event.update(type="content.progressed", payload=payload)
        events.append(event)
    return events


# --------------------------------------------------------------------------- the server


class Api:
    """The API over one kept-alive HTTP connection."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=60
        )
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, "/api/v1" + path, body=data, headers=headers)
        response = self.conn.getresponse()
        text = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {text[:300]!r}")
        return json.loads(text)

    def close(self) -> None:
        self.conn.close()


def put_history(api: Api, events: list[dict[str, Any]]) -> int:
    """PUT the events in the order they happened, as many a request as the API's limits allow
    (events and bytes); the number of requests."""
    requests, batch = 0, []

    def send(chunk: list[dict[str, Any]]) -> None:
        api.call(
            "PUT",
            "/learning/progress",
            {"clientUpdatedAt": chunk[-1]["occurredAt"], "events": chunk},
        )

    size = 0
    for event in events:
        length = len(json.dumps(event)) + 1
        if batch and (len(batch) == MAX_EVENTS_PER_PUT or size + length > MAX_BODY_BYTES - 4096):
            send(batch)
            requests += 1
            batch, size = [], 0
        batch.append(event)
        size += length
    if batch:
        send(batch)
        requests += 1
    return requests


def seeded_dir(count: int, reseed: bool) -> Path:
    """The data directory of a server holding `count` events of the learner (made once)."""
    target = CACHE / f"{count}"
    marker = target / "seeded.json"
    course = json.dumps([course_items(), path_ids()], sort_keys=True).encode()
    expected = {
        "version": SEED_VERSION,
        "events": count,
        "email": EMAIL,
        "course": hashlib.sha256(course).hexdigest()[:16],
    }
    if not reseed and marker.exists() and json.loads(marker.read_text()) == expected:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    events = learner_history(count)
    started = time.perf_counter()
    with run_pyserver(DIST_WEB, target) as server:
        server.add_user(EMAIL, PASSWORD)
        api = Api(server.url)
        try:
            api.token = api.call("POST", "/auth/login", {"email": EMAIL, "password": PASSWORD})[
                "data"
            ]["token"]
            requests = put_history(api, events)
            held = 0
            cursor = None
            while True:  # the server holds them all
                query = "?limit=5000" + (f"&since={cursor}" if cursor else "")
                data = api.call("GET", "/learning/progress" + query)["data"]
                held += len(data["events"])
                cursor = data["cursor"]
                if not data["hasMore"]:
                    break
        finally:
            api.close()
    if held != count:
        raise RuntimeError(f"the server holds {held} of {count} events")
    (target / "server.log").unlink(missing_ok=True)
    marker.write_text(json.dumps(expected))
    print(
        f"seeded {count:,} events in {requests} PUTs ({time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
    return target


# --------------------------------------------------------------------------- one size


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_ready(page: Any) -> None:
    page.wait_for_function(READY, timeout=300_000)
    err = page.evaluate("document.documentElement.dataset.progressError || null")
    if err:
        raise RuntimeError(f"the page failed: {err}")


def one_size(browser: Any, count: int, args: argparse.Namespace) -> dict[str, Any]:
    template = seeded_dir(count, args.reseed)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(template, data)  # a copy: the records of this run do not stay
        with run_pyserver(DIST_WEB, data) as server:
            ctx = browser.new_context()
            try:
                ctx.add_init_script(LONGTASKS)
                page = ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                puts: list[str] = []
                page.on(
                    "request",
                    lambda r: (
                        puts.append(r.url)
                        if r.method == "PUT" and "/learning/progress" in r.url
                        else None
                    ),
                )
                page.goto(server.url)
                wait_ready(page)
                t0 = time.perf_counter()
                page.evaluate(
                    "([email, password]) => progressClient.signIn({email, password})",
                    [EMAIL, PASSWORD],
                )
                page.wait_for_function(SETTLED, timeout=600_000, polling=20)
                pulled = time.perf_counter() - t0
                status = page.evaluate("progressClient.status")
                stored = page.evaluate(STORAGE_CHARS)
                print(
                    f"{count:,}: signed in, pulled in {pulled:.2f} s", file=sys.stderr, flush=True
                )

                idle = page.evaluate(IDLE_FRAMES, max(10, args.records // 3))
                puts.clear()
                samples = page.evaluate(RECORDS, [args.records, course_items()])
                syncs = len(puts)
                page.evaluate("progressClient.sync()")
                page.wait_for_function(SETTLED, timeout=120_000, polling=20)

                reloads = []
                for _ in range(args.runs):
                    page.reload()
                    wait_ready(page)
                    reloads.append(page.evaluate(AFTER_READY, args.window * 1000))
                    print(
                        f"{count:,}: reload ready {reloads[-1]['ready']:.0f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
            finally:
                ctx.close()
    if errors:
        print(f"{count:,}: page errors: {errors[:3]}", file=sys.stderr)
    wall = [s["wall"] for s in samples]
    busy = [s["busy"] for s in samples]
    verified = [r["verified"] for r in reloads if r["verified"] is not None]
    longest = [r["longest"] for r in reloads if r["longest"] is not None]
    return {
        "pulled_s": pulled,
        "storage_chars": stored,
        "storage_warning": status.get("storageWarning")
        or next((r["storage_warning"] for r in reloads if r["storage_warning"]), None),
        "signed_in_after_reload": all(r["signed_in"] for r in reloads),
        "busy_p50": statistics.median(busy),
        "busy_p95": pct(busy, 0.95),
        "wall_p50": statistics.median(wall),
        "wall_p95": pct(wall, 0.95),
        "idle_wall_p50": statistics.median(s["wall"] for s in idle),
        "idle_busy_p50": statistics.median(s["busy"] for s in idle),
        "syncs": syncs,
        "ready": statistics.median(r["ready"] for r in reloads),
        "pyclient_ready": statistics.median(r["pyclient_ready"] for r in reloads),
        "longest": max(longest) if longest else None,
        "verified": statistics.median(verified) if verified else None,
        "verified_api": any(r["verified"] is not None or r["timed_out"] for r in reloads),
        "timed_out": sum(r["timed_out"] for r in reloads),
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,10000,50000,100000")
    parser.add_argument("--records", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--window", type=float, default=8.0, help="s after ready, without historyVerified"
    )
    parser.add_argument("--reseed", action="store_true", help="put the histories on new servers")
    parser.add_argument(
        "--build", action="store_true", help="run build.py first (else only if dist is missing)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.build or not (DIST_WEB / "build.json").exists():
        build = [sys.executable, str(ROOT / "build.py"), "--no-test-runtime"]
        if subprocess.run(build, check=False).returncode:
            return 1
    from playwright.sync_api import sync_playwright

    results: dict[int, dict[str, Any]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for n in sizes:
                results[n] = one_size(browser, n, args)
        finally:
            browser.close()

    build = json.loads((DIST_WEB / "build.json").read_text())
    print(
        f"\nA signed-in learner's history in Chromium (pyserver on SQLite, 2 cores; "
        f"{args.records} records, {args.runs} reloads; dist {build.get('app', '?')})"
    )
    head = (
        f"{'events':>8} | {'pull s':>6} | {'stored chars':>12} | {'record p50':>10} | "
        f"{'record p95':>10} | {'+paint p50':>10} | {'+paint p95':>10} | {'idle':>9} | "
        f"{'syncs':>5} | {'pyclient':>8} | {'ready':>6} | {'longest':>7} | {'verified':>8}"
    )
    print(head)
    print("-" * len(head))
    for n, r in results.items():
        verified = f"{r['verified']:8.0f}" if r["verified"] is not None else f"{'-':>8}"
        longest = f"{r['longest']:7.0f}" if r["longest"] is not None else f"{'n/a':>7}"
        idle = f"{r['idle_wall_p50']:.1f}/{r['idle_busy_p50']:.1f}"
        print(
            f"{n:>8,} | {r['pulled_s']:6.2f} | {r['storage_chars']:>12,} | "
            f"{r['wall_p50']:10.1f} | {r['wall_p95']:10.1f} | {r['busy_p50']:10.1f} | "
            f"{r['busy_p95']:10.1f} | {idle:>9} | {r['syncs']:>5} | {r['pyclient_ready']:8.0f} | "
            f"{r['ready']:6.0f} | {longest} | {verified}"
        )
    verifying = any(r["verified_api"] for r in results.values())
    print(
        "(ms unless said. pull: signIn -> synced, nothing pending; stored chars: the client's "
        "localStorage values; record: the call -> the next animation frame; + paint: the call "
        "+ that frame's rendering; idle: the frame wait / a frame's rendering with no record "
        "(medians); syncs: PUTs during the records; pyclient, ready: reload -> the "
        "pyclient-ready / progress-ready marks (medians); longest: the longest main-thread "
        "block after ready over the reloads (0: no long task), "
        + (
            "until historyVerified() resolved; verified: ready -> verified, median)"
            if verifying
            else f"in the {args.window:g} s after ready (the client has no historyVerified()))"
        )
    )
    for n, r in results.items():
        if r["storage_warning"]:
            print(f"{n:,}: the client warned: {r['storage_warning']}")
        if not r["signed_in_after_reload"]:
            print(f"{n:,}: NOT signed in after a reload")
        if r["timed_out"]:
            print(f"{n:,}: historyVerified() did not resolve within 120 s in {r['timed_out']} runs")

    print()
    low, mid = results.get(1000), results.get(50000)
    if low is None or mid is None:
        print("targets: n/a (they compare 50,000 events with 1,000: run both sizes)")
        return 0
    p95, p95_ratio = mid["wall_p95"], mid["wall_p95"] / low["wall_p95"]
    ready_ratio = mid["ready"] / low["ready"]
    print(
        f"record p95 at 50,000 events: {p95:.1f} ms ({'met' if p95 <= 16 else 'NOT met'}: "
        f"<= 16 ms); {p95_ratio:.2f} x its value at 1,000 "
        f"({'met' if p95_ratio <= 1.5 else 'NOT met'}: <= 1.5 x)"
    )
    print(
        f"reload -> ready at 50,000 events: {mid['ready']:.0f} ms, {ready_ratio:.2f} x at 1,000 "
        f"({low['ready']:.0f} ms) ({'met' if ready_ratio <= 1.3 else 'NOT met'}: <= 1.3 x)"
    )
    if 100_000 in results:
        big = results[100_000]
        print(
            f"(at 100,000 events: record p95 {big['wall_p95']:.1f} ms, "
            f"{big['wall_p95'] / low['wall_p95']:.2f} x at 1,000; "
            f"ready {big['ready']:.0f} ms, {big['ready'] / low['ready']:.2f} x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
