"""The page's Content-Security-Policy, as Chromium applies it.

Every browser test is watched (conftest.py's ``csp_watch``, browsing.CspWatch): a violation in
any page or frame of its contexts fails it. Here:

- both servers send the page the one policy of pyserver/security.py, with the build's hashes;
- violations planted in pages under that policy (an inline script and style, an inline script
  in a frame, ``eval`` in a module) are each reported by that same watch, so the check cannot
  pass because it saw nothing;
- the real page through its main flows (load, record, reload, sign in, the service worker,
  offline) reports none, and a script injected into it afterwards is reported.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from static_server import StaticServer

from e2e.browsing import CspWatch, PageLog, dist_app, open_page, wait_ready
from e2e.course import LESSON, PATH_A, complete_lesson, onboard, sign_in_ui, wait_synced
from e2e.servers import LearningServer, RunningServer
from pyserver.security import page_csp

pytestmark = pytest.mark.browser


def built_policy(dist_web: Path) -> str:
    return page_csp(json.loads((dist_web / "build.json").read_text())["csp"])


def test_both_servers_send_the_page_its_one_policy(
    any_server: RunningServer, dist_web: Path
) -> None:
    policy = built_policy(dist_web)
    app = dist_app(dist_web)
    for path in ("", "index.html", "sw.js", f"{app}/progress-client.js"):
        with urllib.request.urlopen(any_server.url + path) as response:
            assert response.headers.get_all("Content-Security-Policy") == [policy], path
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self' 'wasm-unsafe-eval';" in policy  # and no 'unsafe-eval'
    assert "'unsafe-eval'" not in policy
    assert "'unsafe-inline'" not in policy.split("style-src-attr")[0]


# Pages that break the page's policy, each in its own way, served with that policy.
PLANTED: dict[str, tuple[str, bytes]] = {
    "/planted/inline.html": (
        "text/html; charset=utf-8",
        b"<!doctype html><title>planted</title><style>p { color: red }</style>"
        b"<script>document.title = 'ran'</script><p>inline</p>",
    ),
    "/planted/frame.html": (
        "text/html; charset=utf-8",
        b"<!doctype html><title>planted</title>"
        b"<iframe srcdoc=\"<script>parent.document.title = 'ran'</script>\"></iframe>",
    ),
    "/planted/eval.html": (
        "text/html; charset=utf-8",
        b'<!doctype html><title>planted</title><script type="module" src="eval.js"></script>',
    ),
    "/planted/eval.js": (
        "text/javascript",
        b"document.title = 'loaded'\n"
        b"try { eval(\"document.title = 'ran'\") } catch {}\n"
        b"eval(\"document.title = 'ran'\")\n",
    ),
}


@pytest.fixture(scope="module")
def planted(dist_web: Path) -> Iterator[StaticServer]:
    """The static server with the planted pages beside the page (the page's policy on all)."""
    with StaticServer(dist_web, extra=PLANTED) as srv:
        yield srv


@pytest.mark.parametrize(
    ("path", "reported"),
    [
        # the documents' events, and Chromium's console report of a refused inline element
        (
            "planted/inline.html",
            ["event: script-src-elem refused inline", "event: style-src-elem refused inline",
             "console: "],
        ),
        ("planted/frame.html", ["event: script-src-elem refused inline", "console: "]),
        # a refused eval: two events (caught, then not), and the uncaught EvalError
        ("planted/eval.html", ["event: script-src refused eval", "error: Evaluating a string"]),
    ],
)  # fmt: skip
def test_a_violation_planted_in_a_page_or_frame_is_reported(
    planted: StaticServer,
    dist_web: Path,
    context: Any,
    csp_watch: CspWatch,
    path: str,
    reported: list[str],
) -> None:
    page = context.new_page()
    response = page.goto(planted.url + path)
    assert response.headers["content-security-policy"] == built_policy(dist_web)
    if path.endswith("eval.html"):
        page.wait_for_function("() => document.title === 'loaded'")
    assert page.title() in {"planted", "loaded"}  # nothing planted ran
    taken = csp_watch.take()
    for prefix in reported:
        assert any(v.startswith(prefix) for v in taken), (prefix, taken)
    if path.endswith("eval.html"):
        assert len([v for v in taken if v.startswith("event: ")]) == 2, taken
    assert csp_watch.take() == []


def test_the_page_through_its_main_flows_breaks_nothing(
    learning_server: LearningServer, context: Any, csp_watch: CspWatch, dist_web: Path
) -> None:
    policy = built_policy(dist_web)
    log = PageLog()
    page = context.new_page()
    log.attach(page)
    open_page(page, learning_server.url)  # load
    assert page.evaluate("() => typeof window.__e2eCspViolation") == "function"  # watched
    onboard(page, PATH_A)
    complete_lesson(page, PATH_A, *LESSON)  # record
    page.reload()  # reload
    wait_ready(page)
    sign_in_ui(page)  # sign in (the demo account)
    wait_synced(page)
    active = page.evaluate(
        """async () => {
          const registration = await navigator.serviceWorker.ready
          for (let i = 0; i < 300 && !navigator.serviceWorker.controller; i++) {
            await new Promise((r) => setTimeout(r, 100))
          }
          return !!navigator.serviceWorker.controller && registration.active.state
        }"""
    )
    assert active == "activated"  # the service worker controls the page
    learning_server.stop()
    try:
        response = page.goto(learning_server.url)  # offline: from the precache
        wait_ready(page)
        assert response.from_service_worker
        assert response.headers["content-security-policy"] == policy
        complete_lesson(page, PATH_A, "spotting-patterns", "regression-to-the-mean")
    finally:
        learning_server.start()
    wait_synced(page)
    assert csp_watch.take() == []
    assert csp_watch.unprotected == []
    assert [e for e in log.errors() if "Content Security Policy" in e] == []

    # The same watch on the same page: a script injected now is refused and reported.
    page.evaluate(
        """() => {
          const s = document.createElement('script')
          s.textContent = "document.title = 'ran'"
          document.body.append(s)
        }"""
    )
    assert page.title() != "ran"
    taken = csp_watch.take()
    assert any(v.startswith("event: script-src-elem refused inline") for v in taken), taken
