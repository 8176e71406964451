"""The embedding example (examples/embedding): a host app with its own sign-in and token
endpoint (ES256 tokens, its key served as a JWKS) embeds the client with ``getToken``. In
Chromium: a guest's progress, sign-in through the host, a sync, an expired token renewed
through ``getToken`` without the learner seeing an error, and sign-out."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import stop_process

from .browsing import PageLog, open_page
from .servers import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN_TTL = 3  # seconds; the example's server allows no clock skew, so tokens really expire


@pytest.fixture
def host(dist_web: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "host.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "embedding" / "host.py"),
         "--port", str(port), "--web", str(dist_web), "--data", str(tmp_path / "data"),
         "--token-ttl", str(TOKEN_TTL), "--leeway", "0"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/host/jwks.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "host.log").read_text()
            assert time.monotonic() < deadline, "the example did not start"
            time.sleep(0.1)
        yield url
    finally:
        stop_process(process, timeout=15)
        log.close()


def status(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("() => progressClient.status"))


def wait_state(page: Any, state: str, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        "(s) => progressClient.status.state === s && progressClient.status.pending === 0",
        arg=state,
        timeout=timeout_ms,
    )


def server_events(page: Any, host: str) -> list[str]:
    """The signed-in learner's events on the server, read with a token from the host."""
    token = page.evaluate("async () => (await (await fetch('/host/token')).json()).token")
    response = httpx.get(
        f"{host}/api/v1/learning/progress", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return [e["eventId"] for e in response.json()["data"]["events"]]


def test_the_host_signs_in_and_an_expired_token_is_renewed_unseen(
    host: str, page: Any, page_log: PageLog
) -> None:
    open_page(page, f"{host}/example/")
    assert status(page)["userId"] is None
    page.click("[data-lesson=intro]")
    page.wait_for_function("() => progressClient.snapshot.content.intro?.status === 'completed'")
    guest_event = page.evaluate("() => progressClient.snapshot.content.intro")
    assert guest_event["status"] == "completed"

    page.fill("#name", "alice")
    page.click("#sign-in-button")
    page.wait_for_function("() => progressClient.status.userId === 'host-alice'")
    wait_state(page, "synced")
    assert len(server_events(page, host)) == 1  # the guest's progress came along
    asked = page.evaluate("() => window.tokenRequests")

    time.sleep(TOKEN_TTL + 1)  # the client's token has expired
    page.evaluate("() => { window.seenStates = [] }")
    page.click("[data-lesson=evidence]")
    wait_state(page, "synced")
    page.evaluate("() => progressClient.sync()")
    wait_state(page, "synced")
    assert page.evaluate("() => window.tokenRequests") > asked  # renewed through getToken
    seen = page.evaluate("() => window.seenStates")
    assert "session_expired" not in seen and "error" not in seen, seen
    assert len(server_events(page, host)) == 2
    assert "signed in as host-alice, synced" in page.inner_text("#status")

    page.click("#sign-out-button")
    page.wait_for_function("() => progressClient.status.userId === null")
    assert page.is_visible("#sign-in-button")
    assert page_log.external_requests() == []
    # The only errors: the 401s of the host's token endpoint before sign-in and of the expired
    # token, which the browser logs as failed loads.
    assert all("status of 401" in e for e in page_log.errors()), page_log.errors()
