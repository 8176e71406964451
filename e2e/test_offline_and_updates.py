"""The service worker in Chromium, with a persistent profile (its HTTP cache and Cache Storage
kept across loads, as a learner's browser keeps them):

- after one visit (client ready, worker installed) the server process is stopped; a reload
  opens the page from the precache, a lesson can be completed, and once a server is started
  again on the same port and data the event reaches it; the precache took the runtime from the
  HTTP cache (the server sent it once) and holds no API answer;
- a new build served after a visit is what the next load shows, and no load after the switch
  asks for a file that is not the new build's;
- neither breaks the Content-Security-Policy (no violation reported);
- requests to the API go straight to the network, and the build's content-hashed files come
  from the precache, both past the worker's script (its static routes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from buildsteps.service_worker import precached as page_files
from e2e.browsing import PageLog, install_service_worker, open_page, save_screenshot, wait_ready
from e2e.chromium import CHROMIUM_ARGS, chromium_path
from e2e.course import LESSON, PATH_A, complete_lesson, onboard, sign_in_ui, tid, wait_synced
from e2e.server_api import progressed, server_state
from e2e.servers import ROOT, LearningServer

pytestmark = pytest.mark.browser

WATCH_CSP = """window.__cspViolations = []
document.addEventListener('securitypolicyviolation', (e) =>
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`))"""
CACHED_URLS = """async () => {
  const urls = []
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) urls.push(request.url)
  }
  return urls
}"""
NEW_TITLE = "Thinking clearly, revised"


@pytest.fixture
def profile(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A persistent Chromium profile in a fresh directory (the session's Playwright)."""
    ctx = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=chromium_path(), args=CHROMIUM_ARGS,
        viewport={"width": 1000, "height": 700},
    )  # fmt: skip
    ctx.add_init_script(WATCH_CSP)
    yield ctx
    ctx.close()


def manifest(web: Path) -> dict[str, Any]:
    return json.loads((web / "build.json").read_text())  # type: ignore[no-any-return]


def precached(page: Any) -> set[str]:
    """The paths in Cache Storage, without Workbox's revision parameter."""
    paths = set()
    for url in page.evaluate(CACHED_URLS):
        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(k + (f"={v}" if v else "") for k, v in params if k != "__WB_REVISION__")
        paths.add(parts.path.lstrip("/") + (f"?{query}" if query else ""))
    return paths


def page_paths(urls: list[str]) -> list[str]:
    """The same-origin paths of `urls` that name a file (not the page itself, not the API)."""
    paths = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob", "about"}:
            continue
        path = parts.path.lstrip("/")
        if path and not path.startswith("api/"):
            paths.append(path)
    return paths


def csp_violations(page: Any) -> list[str]:
    return page.evaluate("window.__cspViolations")  # type: ignore[no-any-return]


def test_after_one_visit_the_page_works_with_the_server_stopped(
    dist_web: Path, tmp_path: Path, profile: Any
) -> None:
    (tmp_path / "data").mkdir()
    srv = LearningServer(dist_web, tmp_path / "data", "--access-log", "--log-level", "info")
    srv.start()
    try:
        creds = ("offline@example.com", "offline-password")
        srv.add_user(*creds)
        log = PageLog()
        page = profile.new_page()
        log.attach(page)
        open_page(page, srv.url)
        sign_in_ui(page, *creds)
        onboard(page, PATH_A)
        wait_synced(page)
        install_service_worker(page, dist_web)

        build = manifest(dist_web)
        want = set(page_files(build["files"])) - {"sw.js", "index.html"}
        cached = precached(page)
        assert want | {"index.html?offline"} == cached
        assert not [p for p in cached if p.startswith("api/") or p.endswith((".br", ".gz"))]
        # the precache took the runtime from the HTTP cache the visit filled: sent once
        server_log = (tmp_path / "data" / "server.log").read_text()
        wasm = f"GET /{build['runtime']}/pyodide.asm.wasm "
        assert server_log.count(wasm) == 1, server_log

        srv.stop()
        page.reload()
        wait_ready(page)
        complete_lesson(page, PATH_A, *LESSON)
        assert page.get_attribute(tid("item-view"), "data-status") == "completed"
        save_screenshot(page, "offline-server-stopped")
        assert int(page.get_attribute(tid("sync-status"), "data-pending") or 0) >= 1

        srv.start()
        wait_synced(page, timeout_ms=60_000)  # a scheduled retry reaches the server again
        events, snap = server_state(srv.url, *creds)
        assert progressed(events, LESSON[1]) == ["in_progress", "completed"]
        assert snap["content"][LESSON[1]]["status"] == "completed"
        assert not [p for p in precached(page) if p.startswith("api/")]
        assert csp_violations(page) == []
        assert log.external_requests() == []
    finally:
        srv.stop()


def build_changed_copy(tmp: Path) -> Path:
    """dist/web of a copy of the sources whose first path has a new title, built by build.py
    (the content-addressed caches shared, so only what changed is made again)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("build.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("buildsteps", "scripts", "pyclient"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "web", src / "web", ignore=shutil.ignore_patterns("node_modules"))
    (src / "web" / "node_modules").symlink_to(ROOT / "web" / "node_modules")
    (src / ".cache" / "build").mkdir(parents=True)
    (src / ".cache" / "wheels").symlink_to(ROOT / ".cache" / "wheels")
    for entry in (ROOT / ".cache" / "build").iterdir():
        if entry.is_dir() and entry.name != "web":  # web/: this build's own generated files
            (src / ".cache" / "build" / entry.name).symlink_to(entry)
    paths_json = src / "web" / "content" / "en" / "paths.json"
    text = paths_json.read_text()
    assert '"title": "Thinking clearly"' in text
    paths_json.write_text(text.replace('"title": "Thinking clearly"', f'"title": "{NEW_TITLE}"'))
    proc = subprocess.run(
        [sys.executable, "build.py", "--no-test-runtime"],
        cwd=src, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    return src / "dist" / "web"


def test_a_new_build_is_taken_on_the_next_load_without_mixing(
    dist_web: Path, tmp_path: Path, profile: Any
) -> None:
    new_web = build_changed_copy(tmp_path)
    old, new = manifest(dist_web), manifest(new_web)
    assert old["app"] != new["app"] and old["runtime"] == new["runtime"]

    (tmp_path / "data").mkdir()
    srv = LearningServer(dist_web, tmp_path / "data")
    srv.start()
    try:
        page = profile.new_page()
        open_page(page, srv.url)
        assert "Thinking clearly" in page.inner_text(tid("view"))
        assert NEW_TITLE not in page.inner_text(tid("view"))
        install_service_worker(page, dist_web)
        assert any(p.startswith(old["app"] + "/") for p in precached(page))

        srv.stop()
        srv.dist_web = new_web
        srv.start()
        log = PageLog()
        log.attach(page)
        page.reload()  # the next load: the new build's index.html, from the network
        wait_ready(page)
        page.wait_for_selector(f"{tid('view')} :text('{NEW_TITLE}')")
        install_service_worker(page, new_web)  # the new worker takes over...
        cached = precached(page)
        assert any(p.startswith(new["app"] + "/") for p in cached)
        assert not any(p.startswith(old["app"] + "/") for p in cached)  # ...and the old goes
        page.reload()  # and once more, now from the new worker's precache
        wait_ready(page)
        page.wait_for_selector(f"{tid('view')} :text('{NEW_TITLE}')")
        save_screenshot(page, "offline-new-build")

        requested = page_paths(log.requests)
        assert any(p.startswith(new["app"] + "/") for p in requested)
        foreign = [p for p in requested if p not in new["files"]]
        assert foreign == [], f"files not of the new build: {foreign}"
        assert not [p for p in requested if re.match(re.escape(old["app"]) + "/", p)]
        assert csp_violations(page) == []
        assert log.errors() == []
    finally:
        srv.stop()


# Put before a copy of sw.js: every fetch event is reported to the pages (its path).
PROBE = """
self.addEventListener('fetch', (event) => {
  const path = new URL(event.request.url).pathname
  event.waitUntil(self.clients.matchAll().then((all) => all.forEach((c) => c.postMessage(path))))
})
"""
# Fetches each path three times; the paths of the fetch events the worker saw meanwhile (the
# page's Resource Timing then holds these fetches only).
FETCH_EVENTS_FOR = """async (paths) => {
  performance.clearResourceTimings()
  const seen = []
  navigator.serviceWorker.addEventListener('message', (e) => seen.push(e.data))
  for (let i = 0; i < 3; i++) {
    for (const path of paths) {
      const response = await fetch(path)
      const failed = path.startsWith('api/') ? response.status >= 500 : !response.ok
      if (failed) return `${path}: HTTP ${response.status}`
      await response.arrayBuffer()
    }
  }
  await new Promise((r) => setTimeout(r, 500))
  return seen
}"""


# Where the static routes answered the last probe's fetches (Resource Timing; '': no route).
FINAL_SOURCES = """(paths) => performance.getEntriesByType('resource')
  .filter((e) => e.initiatorType === 'fetch' && paths.some((p) => e.name.endsWith('/' + p)))
  .map((e) => e.workerFinalSourceType)"""


@pytest.mark.parametrize("routes", [True, False])
def test_api_requests_and_the_builds_files_never_start_the_workers_script(
    dist_web: Path, tmp_path: Path, profile: Any, routes: bool
) -> None:
    """The worker's static routes send /api/ past it to the network and have the browser answer
    the build's content-hashed files from the precache: no fetch event, no added latency. The
    same probe without them sees every request, so the check can fail."""
    web = tmp_path / "web"
    shutil.copytree(dist_web, web)
    sw = web / "sw.js"
    for variant in (web / "sw.js.br", web / "sw.js.gz"):
        variant.unlink(missing_ok=True)
    text = sw.read_text()
    if not routes:
        text = re.sub(r'importScripts\("app-[0-9a-f]+/sw-network-routes\.js"\)', "void 0", text)
    sw.write_text(PROBE + text)  # first: a listener after Workbox's saw no precached file
    (tmp_path / "data").mkdir()
    srv = LearningServer(web, tmp_path / "data")
    srv.start()
    try:
        page = profile.new_page()
        open_page(page, srv.url)
        install_service_worker(page, web)
        built = manifest(web)
        hashed = [
            f"{built['app']}/learning-page.js",
            f"{built['runtime']}/pyodide.mjs",
            f"{built['memorySnapshot']}/meta.json",
            built["lockfile"],
        ]
        assert set(hashed) <= precached(page), "the probe's files are not all precached"
        for paths in (["api/v1/learning/progress"], hashed):
            seen = page.evaluate(FETCH_EVENTS_FOR, paths)
            assert isinstance(seen, list), seen
            probed = [s for s in seen if s.lstrip("/") in paths]  # not the page's own requests
            expected = [] if routes else ["/" + p for _ in range(3) for p in paths]
            assert sorted(probed) == sorted(expected), paths
        # answered from the precache, not the network (a wrong cache name would send them there)
        sources = page.evaluate(FINAL_SOURCES, hashed)
        assert sources == [("cache" if routes else "") for _ in range(3) for _ in hashed], sources
    finally:
        srv.stop()
