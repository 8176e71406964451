"""The page's Pyodide boot from the build's memory snapshot (web/memory-snapshot.js,
web/python-boot.js), in Chromium against a real `python -m pyserver serve --web dist/web --demo`:

- as built, the page boots from the snapshot (``<html data-pyodide-boot="snapshot">``, no
  fallback, the 'pyodide-boot' mark) and Python works: a lesson completed on the page is in the
  client's snapshot, and is read back from storage after a reload (from the snapshot again); a
  second learner gets a client id of their own;
- a snapshot the page must not use is refused for its reason, said on the page, in the mark and
  in the console, and the page boots the normal way, Python working all the same: the heap
  missing (404), corrupt (bytes flipped in the middle, or cut to half), of another runtime build
  (the build id changed in the metadata and in the heap's header alike, the heap's sha256
  updated), laid out for another function table (a table base below the engine's table),
  naming other wheels than the page read beside it (build-files.js), or slower than the page's
  time limit (``<html data-snapshot-timeout-ms="1">``);
- the time limit is the restore's, not the download's: a heap that arrives 6 s late is restored
  under a limit of 2.5 s; a download that stalls halfway is given up after the stall limit
  (``<html data-snapshot-stall-ms>``), one too slow for the line (its body over 15 s at the
  rate it comes, or ``<html data-snapshot-line-ms>``) is given up then, and one not here
  ``<html data-snapshot-late-ms>`` after the runtime is ready is given up then; each time the
  page boots the normal way (``timeout``);
- the heap is hashed when read from the server, not when read from the service worker's
  precache, which stores it only if it matches its sha256: a dist whose heap.bin does not is
  never precached (the worker does not install), and every load reads it from the server and
  refuses it;
- neither boot lets the runtime use WebAssembly's stack switching (JSPI), which Chromium has:
  no stack is made for Python's callbacks, and the engine's API is left to the page.

The broken answers are the server's real ones changed in flight (``page.route``), sent without a
content encoding (the snapshot's files through a local relay, ``Relay``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from e2e.browsing import (
    PageLog,
    dist_app,
    install_service_worker,
    new_page,
    open_page,
    provoked_only,
    wait_ready,
)
from e2e.course import LESSON, PATH_A, complete_lesson, onboard, snapshot
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

BOOT = """() => ({
  boot: document.documentElement.dataset.pyodideBoot ?? null,
  fallback: document.documentElement.dataset.pyodideBootFallback ?? null,
  marks: performance.getEntriesByName('pyodide-boot', 'mark').map((m) => m.detail),
})"""
#: How the heap was found to match its sha256: hashed as read, or read from the precache.
VERIFIED = (
    "() => performance.getEntriesByName('memory-snapshot-checked', 'mark')[0].detail.verified"
)
FALLBACK_INFO = "Learning progress: starting without the memory snapshot"
#: Where a Pyodide snapshot's header keeps the runtime's build id: 8 little-endian uint32 words.
BUILD_ID_AT = 16
OTHER_BUILD_ID = hashlib.sha256(b"another runtime build").hexdigest()
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class Relay:
    """A local HTTP server that sends each answer it is given once: a changed answer reaches the
    page through it (``route.continue_`` to its URL, which the page does not see), since
    Chromium takes a body handed to ``route.fulfill`` slowly (some 12 s for the heap's 23 MB).
    Not a page's own document, which would then be of the relay's origin; and a page whose
    document was fulfilled may not reach the relay (Chromium refuses its requests to a loopback
    address), so a test changes either its document or what it fetches."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[dict[str, str], bytes, float, int | None, float | None]] = {}
        answers = self.answers
        closing = self.closing = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers, body, delay, stall_after, rate = answers.pop(self.path)
                time.sleep(delay)  # a slow line, as far as the page can tell
                self.send_response_only(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if rate is not None:
                    self.trickle(body, rate)
                    return
                if stall_after is None:
                    self.wfile.write(body)
                    return
                self.wfile.write(body[:stall_after])  # then nothing, the connection left open
                self.wfile.flush()
                closing.wait()

            def trickle(self, body: bytes, rate: float) -> None:
                chunk = 64 * 1024
                try:
                    for at in range(0, len(body), chunk):
                        self.wfile.write(body[at : at + chunk])
                        self.wfile.flush()
                        time.sleep(chunk / rate)
                except OSError:
                    pass  # the page gave it up

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(
        self,
        headers: dict[str, str],
        body: bytes,
        delay: float = 0.0,
        stall_after: int | None = None,
        rate: float | None = None,
    ) -> str:
        """An answer to send once, `delay` seconds late; with `stall_after`, only that many bytes
        of its body are sent, and then nothing until the relay closes; with `rate`, its body is
        sent at that many bytes a second."""
        path = f"/answer-{len(self.answers)}"
        self.answers[path] = (headers, body, delay, stall_after, rate)
        return self.url + path

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def relay() -> Iterator[Relay]:
    server = Relay()
    yield server
    server.close()


@dataclass
class Snapshot:
    """The dist's memory snapshot on the test's server."""

    name: str  # snapshot-<hash>
    dir: Path
    server_url: str

    def url(self, file: str) -> str:
        return f"{self.server_url}{self.name}/{file}"

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.dir / "meta.json").read_text())  # type: ignore[no-any-return]

    @property
    def heap(self) -> bytes:
        return (self.dir / "heap.bin").read_bytes()


@dataclass
class Answers:
    """A page's requests answered otherwise than by the server (``page.route``), and which of
    them the page asked for."""

    page: Any
    snap: Snapshot
    relay: Relay
    routed: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)

    def missing(self, url: str) -> None:
        """`url` answers 404."""

        def handle(route: Any) -> None:
            route.fulfill(status=404, content_type="text/plain", body="not found")
            self.answered.add(url)

        self.routed.add(url)
        self.page.route(url, handle)

    def changed(
        self,
        url: str,
        change: Callable[[bytes], bytes],
        delay: float = 0.0,
        stall_after: int | None = None,
        rate: float | None = None,
        late_ms: str | None = "60000",
    ) -> None:
        """`url` answers the server's answer with its body changed by `change` (and its
        Content-Length with it), without a content encoding, `delay` seconds late, with
        `stall_after` only that many bytes of it and then nothing, and with `rate` at that many
        bytes a second (not a document). A heap changed so reaches the page only once the test
        has fetched all of it, later than the page allows once its runtime is ready on a busy
        machine: the page is given `late_ms` (``snapshotLateMs``; None: the page's own)."""
        if url == self.snap.url("heap.bin") and late_ms is not None:
            set_on_html(self.page, "snapshotLateMs", late_ms)

        def handle(route: Any) -> None:
            response = route.fetch()
            assert response.status == 200, f"{url}: HTTP {response.status}"
            body = change(response.body())  # decoded, whatever encoding the server chose
            drop = {"content-encoding", "content-length", "transfer-encoding", "date", "server"}
            headers = {k: v for k, v in response.headers.items() if k.lower() not in drop}
            headers["content-length"] = str(len(body))
            if route.request.resource_type == "document":  # relayed, of the relay's origin
                route.fulfill(status=200, headers=headers, body=body)
            else:
                route.continue_(url=self.relay.add(headers, body, delay, stall_after, rate))
            self.answered.add(url)

        self.routed.add(url)
        self.page.route(url, handle)

    def changed_meta(self, change: Callable[[dict[str, Any]], None]) -> None:
        def edit(body: bytes) -> bytes:
            meta = json.loads(body)
            change(meta)
            return json.dumps(meta).encode()

        self.changed(self.snap.url("meta.json"), edit)


@pytest.fixture
def answers(dist_web: Path, learning_server: LearningServer, relay: Relay, page: Any) -> Answers:
    name = json.loads((dist_web / "build.json").read_text())["memorySnapshot"]
    return Answers(page, Snapshot(name, dist_web / name, learning_server.url), relay)


def header_build_id(heap: bytes) -> str:
    return "".join(f"{w:08x}" for w in struct.unpack_from("<8I", heap, BUILD_ID_AT))


def with_build_id(heap: bytes, build_id: str) -> bytes:
    data = bytearray(heap)
    words = [int(build_id[i : i + 8], 16) for i in range(0, 64, 8)]
    struct.pack_into("<8I", data, BUILD_ID_AT, *words)
    return bytes(data)


def heap_missing(a: Answers) -> None:
    a.missing(a.snap.url("heap.bin"))


def heap_flipped(a: Answers) -> None:
    def flip(heap: bytes) -> bytes:
        data = bytearray(heap)
        for i in range(len(data) // 2, len(data) // 2 + 64):
            data[i] ^= 0xFF
        return bytes(data)

    a.changed(a.snap.url("heap.bin"), flip)


def heap_cut(a: Answers) -> None:
    a.changed(a.snap.url("heap.bin"), lambda heap: heap[: len(heap) // 2])


def another_build(a: Answers) -> None:
    """The snapshot of another runtime build: its id in the heap's header and in the metadata,
    the heap's sha256 updated, so that only the check against the loaded runtime refuses it."""
    heap = a.snap.heap
    assert header_build_id(heap) == a.snap.meta["buildId"], "the heap's header is not as expected"
    other_sha256 = hashlib.sha256(with_build_id(heap, OTHER_BUILD_ID)).hexdigest()

    def other_heap(body: bytes) -> bytes:
        assert body == heap, "the server's heap.bin is not the dist's"
        return with_build_id(body, OTHER_BUILD_ID)

    def other_meta(meta: dict[str, Any]) -> None:
        meta["buildId"] = OTHER_BUILD_ID
        meta["heap"]["sha256"] = other_sha256

    a.changed(a.snap.url("heap.bin"), other_heap)
    a.changed_meta(other_meta)


def low_table_base(a: Answers) -> None:
    a.changed_meta(lambda meta: meta.update(tableBase=100))


def other_wheels(a: Answers) -> None:
    """Metadata naming the build's wheels in another order than build-files.js, which the page
    reads beside it."""
    a.changed_meta(lambda meta: meta["wheels"].reverse())


def one_ms_limit(a: Answers) -> None:
    def limit(html: bytes) -> bytes:
        out, n = re.subn(rb"<html\b", b'<html data-snapshot-timeout-ms="1"', html, count=1)
        assert n == 1, "the page has no <html> tag"
        return out

    a.changed(a.snap.server_url, limit)


def set_on_html(page: Any, key: str, value: str) -> None:
    """`<html data-…>` set (dataset `key`) as the page's document is parsed, before its scripts
    run: a page whose document was changed in flight could not reach the relay."""
    set_it = f"root.dataset[{json.dumps(key)}] = {json.dumps(value)}"
    page.add_init_script(
        "new MutationObserver((_, seen) => { const root = document.documentElement;"
        f" if (root) {{ {set_it}; seen.disconnect() }} }})"
        ".observe(document, { childList: true })"
    )


def learner_completes_a_lesson(page: Any) -> None:
    """A lesson completed on the page, through the Python client, and in its snapshot."""
    onboard(page, PATH_A)
    complete_lesson(page, PATH_A, *LESSON)
    page.wait_for_function(
        "(id) => window.progressClient.snapshot.content[id]?.status === 'completed'", arg=LESSON[1]
    )
    assert snapshot(page)["onboarding"]["pathId"] == PATH_A


def test_the_page_boots_from_the_memory_snapshot(
    learning_server: LearningServer, browser: Any, page: Any, page_log: PageLog
) -> None:
    workers: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    open_page(page, learning_server.url)
    snapshot_boot = {"boot": "snapshot", "fallback": None}
    assert page.evaluate(BOOT) == {**snapshot_boot, "marks": [snapshot_boot]}
    # the heap (23 MB) was read by a worker, off the page's main thread, not by the page
    assert [u for u in workers if u.endswith("/read-worker.js")], workers
    read_by_page = "performance.getEntriesByType('resource').map((e) => e.name)"
    assert [u for u in page.evaluate(read_by_page) if u.endswith("/heap.bin")] == []
    assert page.evaluate(VERIFIED) == "sha256"  # from the server: hashed
    learner_completes_a_lesson(page)
    event_id = page.evaluate(
        "window.progressClient.recordProgress({contentId: 'lesson-e2e', status: 'completed',"
        " score: 80, contentVersion: 'v2'})"
    )
    assert UUID.fullmatch(event_id), event_id
    item = snapshot(page)["content"]["lesson-e2e"]
    assert (item["status"], item["score"], item["contentVersion"]) == ("completed", 80, "v2")

    # the next load boots from the snapshot too, read from the precache (not hashed again), and
    # Python reads the stored log back
    install_service_worker(page, learning_server.dist_web)
    page.reload()
    wait_ready(page)
    assert page.evaluate(BOOT) == {**snapshot_boot, "marks": [snapshot_boot]}
    assert page.evaluate(VERIFIED) == "precache"
    content = snapshot(page)["content"]
    assert content[LESSON[1]]["status"] == "completed"
    assert content["lesson-e2e"]["score"] == 80

    # another profile boots from it too, with an empty log and a client id of its own
    other = browser.new_context(viewport={"width": 1000, "height": 700})
    try:
        other_page = new_page(other, learning_server.url)
        assert other_page.evaluate(BOOT)["boot"] == "snapshot"
        assert snapshot(other_page)["content"] == {}
        ids = [p.evaluate("window.progressClient.clientId") for p in (page, other_page)]
        assert all(UUID.fullmatch(i) for i in ids) and ids[0] != ids[1], ids
    finally:
        other.close()

    assert not [t for _, t in page_log.console if FALLBACK_INFO in t]
    assert page_log.external_requests() == []
    assert page_log.errors() == []


@pytest.mark.parametrize(
    ("serve", "reason", "why"),
    [
        pytest.param(heap_missing, "missing", r"{dir}/heap\.bin answered HTTP 404", id="missing"),
        pytest.param(
            heap_flipped, "corrupt", r"the snapshot does not match its sha256", id="corrupt-flipped"
        ),
        pytest.param(
            heap_cut, "corrupt", r"the snapshot has {half} bytes, {size} expected", id="corrupt-cut"
        ),
        pytest.param(
            another_build,
            "mismatch",
            r"the snapshot is of another runtime build \({other}, this one is {build}\)",
            id="mismatch-build",
        ),
        pytest.param(
            low_table_base,
            "mismatch",
            r"the function table starts at \d+ entries, past the snapshot's base 100",
            id="mismatch-layout",
        ),
        pytest.param(
            other_wheels,
            "mismatch",
            r"the snapshot names other wheels than this build",
            id="mismatch-wheels",
        ),
        pytest.param(
            one_ms_limit, "timeout", r"the restore did not finish within 1 ms", id="timeout"
        ),
    ],
)
def test_a_snapshot_the_page_cannot_use_falls_back_to_the_normal_boot(
    serve: Callable[[Answers], None], reason: str, why: str, answers: Answers, page_log: PageLog
) -> None:
    page, snap = answers.page, answers.snap
    serve(answers)
    open_page(page, snap.server_url)
    assert answers.answered == answers.routed, "a changed answer was never asked for"
    normal_boot = {"boot": "normal", "fallback": reason}
    assert page.evaluate(BOOT) == {**normal_boot, "marks": [normal_boot]}
    said = [(kind, t) for kind, t in page_log.console if FALLBACK_INFO in t]
    assert [kind for kind, _ in said] == ["info"], said
    size = snap.meta["heap"]["size"]
    values = {"dir": f"/{snap.name}", "size": size, "half": size // 2,
              "other": OTHER_BUILD_ID[:12], "build": snap.meta["buildId"][:12]}  # fmt: skip
    pattern = why.format(**{k: re.escape(str(v)) for k, v in values.items()})
    assert re.fullmatch(f"{re.escape(FALLBACK_INFO)} \\({reason}\\): {pattern}", said[0][1]), said

    learner_completes_a_lesson(page)
    assert page_log.external_requests() == []
    if reason == "missing":
        provoked_only(page_log, 404)
    else:
        assert page_log.errors() == []


def test_a_slow_download_of_the_heap_does_not_count_against_the_time_limit(
    answers: Answers, page_log: PageLog
) -> None:
    """The time limit is the restore's: it starts once every file is here, so a heap that
    arrives long after the runtime is compiled (a slow line) is restored all the same."""
    page, snap = answers.page, answers.snap
    set_on_html(page, "snapshotTimeoutMs", "2500")
    set_on_html(page, "snapshotStallMs", "60000")  # a late answer, not a stalled one, is tested
    answers.changed(snap.url("heap.bin"), lambda heap: heap, delay=6.0)
    open_page(page, snap.server_url)
    assert answers.answered == answers.routed, "a changed answer was never asked for"
    snapshot_boot = {"boot": "snapshot", "fallback": None}
    assert page.evaluate(BOOT) == {**snapshot_boot, "marks": [snapshot_boot]}
    heap_at = page.evaluate(
        "performance.getEntriesByName('memory-snapshot-fetched', 'mark')[0].startTime"
    )
    assert heap_at > 6000, heap_at  # it did arrive late
    limit = page.evaluate("document.documentElement.dataset.snapshotTimeoutMs")
    assert limit == "2500", limit
    learner_completes_a_lesson(page)
    assert not [t for _, t in page_log.console if FALLBACK_INFO in t]
    assert page_log.errors() == []


def test_a_heap_that_stops_arriving_falls_back_to_the_normal_boot(
    answers: Answers, page_log: PageLog
) -> None:
    """A download of the heap that stalls halfway (the server sends half of it, then nothing,
    the connection left open) is given up once nothing has arrived for the page's stall limit,
    and the page boots the normal way, saying why; it is not left waiting. (Stalled, its rate
    falls: 2 s after its answer it would be too slow for the line too; the stall limit comes
    first here.)"""
    page, snap = answers.page, answers.snap
    set_on_html(page, "snapshotStallMs", "1000")
    answers.changed(
        snap.url("heap.bin"), lambda heap: heap, stall_after=snap.meta["heap"]["size"] // 2
    )
    open_page(page, snap.server_url)
    assert answers.answered == answers.routed, "a changed answer was never asked for"
    normal_boot = {"boot": "normal", "fallback": "timeout"}
    assert page.evaluate(BOOT) == {**normal_boot, "marks": [normal_boot]}
    said = [t for _, t in page_log.console if FALLBACK_INFO in t]
    assert said == [
        f"{FALLBACK_INFO} (timeout): /{snap.name}/heap.bin stopped arriving: nothing for 1000 ms"
    ], said
    learner_completes_a_lesson(page)
    assert page_log.errors() == []


def heap_given_up(answers: Answers, page_log: PageLog, why: str) -> float:
    """The page booted the normal way, the heap given up for `why` (said in the console), and
    works: when its client was ready."""
    page, snap = answers.page, answers.snap
    open_page(page, snap.server_url)
    assert answers.answered == answers.routed, "a changed answer was never asked for"
    normal_boot = {"boot": "normal", "fallback": "timeout"}
    assert page.evaluate(BOOT) == {**normal_boot, "marks": [normal_boot]}
    said = [t for _, t in page_log.console if FALLBACK_INFO in t]
    assert said == [f"{FALLBACK_INFO} (timeout): /{snap.name}/heap.bin {why}"], said
    ready_at = page.evaluate("performance.getEntriesByName('progress-ready', 'mark')[0].startTime")
    learner_completes_a_lesson(page)
    assert page_log.errors() == []
    return float(ready_at)


def heap_at_rate_given_up(answers: Answers, page_log: PageLog, rate: int, line_ms: int) -> None:
    """The heap relayed at `rate` bytes a second is given up by the line's limit of `line_ms`
    (the runtime's late limit, a minute here, is not what is tested), and the page is ready
    before the heap could have come."""
    answers.changed(answers.snap.url("heap.bin"), lambda heap: heap, rate=rate)
    why = (
        f"would take more than {line_ms} ms to download on this line:"
        " booting the normal way is quicker"
    )
    ready_at = heap_given_up(answers, page_log, why)
    whole_heap_ms = answers.snap.meta["heap"]["size"] / rate * 1000
    assert ready_at < whole_heap_ms, (ready_at, whole_heap_ms)  # it did not wait for the heap


def test_a_heap_too_slow_for_the_line_is_given_up_for_the_normal_boot(
    answers: Answers, page_log: PageLog
) -> None:
    """A first visit whose heap comes so slowly that its body would take more than 15 s
    (judged by its rate every half second: a line too slow for it, where the normal boot is
    quicker) gives it up then, instead of sharing the line with the runtime for it: here
    1 MB/s of a 23 MB heap."""
    heap_at_rate_given_up(answers, page_log, 1_000_000, 15_000)


def test_the_page_sets_how_long_the_heap_may_take_on_its_line(
    answers: Answers, page_log: PageLog
) -> None:
    """``<html data-snapshot-line-ms>`` (``snapshotLineMs``) is the line's limit: 2 s here, and
    a heap at 4 MB/s, which the 15 s default would let come (some 6 s), is given up by it."""
    rate = 4_000_000
    assert answers.snap.meta["heap"]["size"] / rate * 1000 < 15_000  # the default lets it come
    set_on_html(answers.page, "snapshotLineMs", "2000")
    heap_at_rate_given_up(answers, page_log, rate, 2000)


def test_the_lines_limit_holds_when_the_read_worker_fails_after_it_was_told(
    answers: Answers, page_log: PageLog
) -> None:
    """The read worker, asked for the heap and told the line's limit, fails before it answers
    (its script comes 1.5 s late, and throws): the page reads the heap itself, and what the
    worker was told holds for that read: a heap at 3 MB/s is given up by a 2 s limit."""
    answers.changed("**/read-worker.js", lambda _: b"throw new Error('no reading here')", delay=1.5)
    set_on_html(answers.page, "snapshotLineMs", "2000")
    heap_at_rate_given_up(answers, page_log, 3_000_000, 2000)


def test_a_heap_not_here_soon_after_the_runtime_is_given_up_for_the_normal_boot(
    answers: Answers, page_log: PageLog
) -> None:
    """A first visit whose heap is not here within what the page allows once the runtime is
    ready (``<html data-snapshot-late-ms>``, 2 s by default: about what the normal boot takes
    longer than a restore on a busy machine; 500 ms here) gives it up then: here a heap whose
    answer comes 4 s late (then at once), nothing of it to judge a rate by."""
    answers.changed(answers.snap.url("heap.bin"), lambda heap: heap, delay=4.0, late_ms="500")
    why = "would not arrive within 500 ms of the runtime: booting the normal way is quicker"
    heap_given_up(answers, page_log, why)


#: Counts the page's uses of WebAssembly's stack switching (JSPI), where the engine has it.
STACK_SWITCHING_SPY = """(() => {
  const used = (globalThis.__stackSwitching = { promising: 0, suspending: 0 })
  const promising = WebAssembly.promising
  if (promising) WebAssembly.promising = function (...args) {
    used.promising++
    return promising.apply(this, args)
  }
  if (WebAssembly.Suspending) WebAssembly.Suspending = new Proxy(WebAssembly.Suspending, {
    construct: (target, args, newTarget) => {
      used.suspending++
      return Reflect.construct(target, args, newTarget)
    },
  })
})()"""
STACK_SWITCHING_USED = """() => ({
  ...globalThis.__stackSwitching,
  api: typeof WebAssembly.promising === 'function' && typeof WebAssembly.Suspending === 'function',
})"""


@pytest.mark.parametrize(
    "serve", [pytest.param(None, id="snapshot"), pytest.param(heap_missing, id="normal")]
)
def test_python_runs_without_webassembly_stack_switching(
    serve: Callable[[Answers], None] | None, answers: Answers, page_log: PageLog
) -> None:
    """Neither boot lets the runtime switch stacks where the engine could (Chromium has JSPI):
    Python's callbacks run on the page's one stack, as in Node, Firefox ESR and WebKit (a
    garbage collection scanning a switched stack crashed Chromium's renderer), and the engine's
    API is left to the page as it was."""
    page, snap = answers.page, answers.snap
    page.add_init_script(STACK_SWITCHING_SPY)
    if serve:
        serve(answers)
    open_page(page, snap.server_url)
    assert page.evaluate(BOOT)["boot"] == ("normal" if serve else "snapshot")
    learner_completes_a_lesson(page)  # awaits in Python: each step a callback of a promise
    assert page.evaluate(STACK_SWITCHING_USED) == {"promising": 0, "suspending": 0, "api": True}
    if serve:
        provoked_only(page_log, 404)
    else:
        assert page_log.errors() == []


def test_a_heap_in_a_cache_other_than_the_precache_is_not_trusted(
    learning_server: LearningServer, page: Any, page_log: PageLog
) -> None:
    """Only this build's precache (checked as stored) is read unhashed: a copy of the heap in any
    other cache of the origin (Workbox's default name, which the precache of builds before the
    integrities had, or a host page's own worker's) is never read; the heap comes from the
    server and is hashed."""
    open_page(page, learning_server.url)
    install_service_worker(page, learning_server.dist_web)
    name = json.loads((learning_server.dist_web / "build.json").read_text())["memorySnapshot"]
    heap_url = f"{learning_server.url}{name}/heap.bin"
    moved = page.evaluate(
        """async (url) => {
          const scope = (await navigator.serviceWorker.getRegistration()).scope
          const precache = await caches.open(`learning-progress-precache-v2-${scope}`)
          const held = await precache.match(url)
          if (!held) return 'not precached'
          const bytes = new Uint8Array(await held.arrayBuffer())
          bytes[bytes.length >> 1] ^= 0xff
          await (await caches.open(`workbox-precache-v2-${scope}`)).put(url, new Response(bytes))
          await precache.delete(url)
          return 'moved'
        }""",
        heap_url,
    )
    assert moved == "moved"
    page.reload()
    wait_ready(page)
    snapshot_boot = {"boot": "snapshot", "fallback": None}
    assert page.evaluate(BOOT) == {**snapshot_boot, "marks": [snapshot_boot]}
    assert page.evaluate(VERIFIED) == "sha256"
    learner_completes_a_lesson(page)
    assert page_log.errors() == []


# The page's service worker, once it is no longer installing: whether one is active and controls
# the page.
WORKER_SETTLED = """async (app) => {
  const { registerServiceWorker } = await import(`./${app}/page/offline.js`)
  const registration = await registerServiceWorker()
  for (let i = 0; i < 600 && (registration.installing || registration.waiting); i++) {
    await new Promise((r) => setTimeout(r, 100))
  }
  const controlled = Boolean(navigator.serviceWorker.controller)
  return { active: registration.active?.state ?? null, controlled }
}"""


def test_a_heap_that_does_not_match_its_sha256_is_never_precached(
    dist_web: Path, tmp_path: Path, page: Any, page_log: PageLog
) -> None:
    """The service worker precaches the heap with its integrity: a dist whose heap.bin is not the
    build's is never stored (the worker does not install), so no load takes it unhashed from
    the precache; each reads it from the server and refuses it."""
    web = tmp_path / "web"
    shutil.copytree(dist_web, web, copy_function=os.link)  # linked, not copied: the files stay
    name = json.loads((web / "build.json").read_text())["memorySnapshot"]
    heap = web / name / "heap.bin"
    data = bytearray(heap.read_bytes())
    data[len(data) // 2] ^= 0xFF
    heap.unlink()  # a file of its own, not the dist's (linked)
    heap.write_bytes(bytes(data))
    for variant in (".br", ".gz"):
        heap.with_name(heap.name + variant).unlink()  # the server sends the changed bytes
    (tmp_path / "data").mkdir()
    server = LearningServer(web, tmp_path / "data")
    server.start()
    try:
        corrupt = {"boot": "normal", "fallback": "corrupt"}
        open_page(page, server.url)
        assert page.evaluate(BOOT) == {**corrupt, "marks": [corrupt]}
        assert page.evaluate(WORKER_SETTLED, dist_app(web)) == {"active": None, "controlled": False}
        heap_url = f"{server.url}{name}/heap.bin"
        assert page.evaluate("async (url) => (await caches.match(url)) ?? null", heap_url) is None
        page.reload()
        wait_ready(page)
        assert page.evaluate(BOOT) == {**corrupt, "marks": [corrupt]}
        said = [t for _, t in page_log.console if FALLBACK_INFO in t]
        assert len(said) == 2 and all("does not match its sha256" in t for t in said), said
        learner_completes_a_lesson(page)
        assert page_log.errors() == []
    finally:
        server.stop()
