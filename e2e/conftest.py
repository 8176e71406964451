"""Fixtures for the browser tests: a fresh build, the servers, system Chromium, a recorded page.

Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM); `playwright install` is never needed.
Every request a page makes is recorded; tests assert that none leaves 127.0.0.1. Every context
the session's browser opens is watched (browsing.CspWatch): a Content-Security-Policy violation
in any of its pages or frames, or a document served without a policy, fails the test
(``csp_watch``, after it). What tests do with pages and servers lives beside this file:
browsing.py, client_api.py, course.py, server_api.py and servers.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from static_server import StaticServer  # noqa: E402

from e2e.browsing import CspWatch, PageLog, WatchedBrowser  # noqa: E402
from e2e.chromium import CHROMIUM_ARGS  # noqa: E402
from e2e.chromium import chromium_path as chromium_executable  # noqa: E402
from e2e.servers import LearningServer, PyServer, RunningServer, run_pyserver  # noqa: E402


def chromium_path() -> str:
    try:
        return chromium_executable()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def dist_web() -> Path:
    """dist/web, rebuilt if needed (build.py is quick when nothing changed)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--no-test-runtime"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"build.py failed:\n{proc.stdout}\n{proc.stderr}")
    return ROOT / "dist" / "web"


@pytest.fixture(scope="session")
def server(dist_web: Path) -> Iterator[StaticServer]:
    with StaticServer(dist_web) as srv:
        yield srv


@pytest.fixture(scope="session")
def pyserver_url(dist_web: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API server serving the page (`python -m pyserver serve --web dist/web`)."""
    with run_pyserver(dist_web, tmp_path_factory.mktemp("pyserver-data")) as srv:
        yield srv.url


@pytest.fixture(scope="session")
def demo_server(dist_web: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyServer]:
    """`python -m pyserver serve --web dist/web --demo` (demo@example.com / demo-password)."""
    with run_pyserver(dist_web, tmp_path_factory.mktemp("pyserver-demo"), "--demo") as srv:
        yield srv


@pytest.fixture(scope="module")
def learning_server(
    dist_web: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LearningServer]:
    """`python -m pyserver serve --web dist/web --demo`, one for each test module."""
    srv = LearningServer(dist_web, tmp_path_factory.mktemp("learning-server"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def own_learning_server(dist_web: Path, tmp_path: Path) -> Iterator[LearningServer]:
    """`python -m pyserver serve --web dist/web --demo` for this test alone (it may stop and
    start it)."""
    srv = LearningServer(dist_web, tmp_path)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(params=["static", "pyserver"])
def any_server(request: pytest.FixtureRequest) -> RunningServer:
    """The page from the static server and from pyserver (what scripts/serve uses)."""
    if request.param == "static":
        return RunningServer("static", request.getfixturevalue("server").url)
    return RunningServer("pyserver", request.getfixturevalue("pyserver_url"))


CSP_WATCH = CspWatch()


@pytest.fixture(autouse=True)
def csp_watch() -> Iterator[CspWatch]:
    """Fails the test on any CSP violation, or page without a policy, in its browser contexts
    (a test that plants one takes it with ``csp_watch.take()``)."""
    CSP_WATCH.reset()
    yield CSP_WATCH
    CSP_WATCH.assert_clean()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """The session's Chromium; each context it opens is watched by ``csp_watch``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield WatchedBrowser(b, CSP_WATCH)
        b.close()


@pytest.fixture
def context(browser: object) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1000, "height": 700})  # type: ignore[attr-defined]
    yield ctx
    ctx.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(context: object, page_log: PageLog) -> object:
    pg = context.new_page()  # type: ignore[attr-defined]
    page_log.attach(pg)
    return pg
