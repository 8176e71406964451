"""Fixtures for the browser tests: a fresh build, a local static server, system Chromium.

Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM); `playwright install` is never needed.
Every request a page makes is recorded; tests assert that none leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from static_server import StaticServer  # noqa: E402

from e2e.chromium import CHROMIUM_ARGS, READY  # noqa: E402
from e2e.chromium import chromium_path as chromium_executable  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"


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


@dataclass
class RunningServer:
    name: str
    url: str


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PyServer:
    """A running `python -m pyserver serve` process: its URL, data directory and environment."""

    url: str
    data_dir: Path
    env: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `python -m pyserver ARGS` against this server's data; its stdout, stripped."""
        proc = subprocess.run(
            [sys.executable, "-m", "pyserver", *args],
            cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return proc.stdout.strip()

    def add_user(self, email: str, password: str) -> str:
        return self.cli("users", "add", email, stdin=password + "\n")


@contextmanager
def run_pyserver(dist_web: Path, data: Path, *extra: str) -> Iterator[PyServer]:
    """`python -m pyserver serve --web dist/web [extra]` on a free port, until the block ends."""
    import time
    import urllib.request

    port = _free_port()
    env = {**os.environ, "PYSERVER_DATA_DIR": str(data)}
    log_path = data / "server.log"
    url = f"http://127.0.0.1:{port}/"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyserver", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--web", str(dist_web), *extra],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"pyserver serve did not start:\n{log_path.read_text()}")
                    time.sleep(0.2)
            yield PyServer(url, data, env)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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


@pytest.fixture(params=["static", "pyserver"])
def any_server(request: pytest.FixtureRequest) -> RunningServer:
    """The page from the static server and from pyserver (what scripts/serve uses)."""
    if request.param == "static":
        return RunningServer("static", request.getfixturevalue("server").url)
    return RunningServer("pyserver", request.getfixturevalue("pyserver_url"))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class PageLog:
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def external_requests(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in {"data", "blob", "about"}:
                continue
            if parts.hostname != "127.0.0.1":
                out.append(url)
        return out

    def errors(self) -> list[str]:
        return [t for kind, t in self.console if kind == "error"] + self.page_errors


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
    pg.on("request", lambda r: page_log.requests.append(r.url))
    pg.on("console", lambda m: page_log.console.append((m.type, m.text)))
    pg.on("pageerror", lambda e: page_log.page_errors.append(str(e)))
    return pg


def wait_ready(page: object, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(READY, timeout=timeout_ms)  # type: ignore[attr-defined]
    err = page.evaluate("document.documentElement.dataset.progressError || null")  # type: ignore[attr-defined]
    assert err is None, f"the progress client failed to start: {err}"


def save_screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
