"""HTTP hygiene of the server as it runs (``python -m pyserver serve``, a real process): 405
with ``Allow`` on every API path, dotfiles never served, the security headers on API and page
answers, deadlines on headers and bodies (408), and a client that goes away logged in one line.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pyclient.core.models import ErrorEnvelope
from pyserver.security import API_CSP, page_csp

from .conftest import (
    LiveServer,
    ServerProcess,
    auth,
    start_server_process,
    stop_server_process,
    token_for,
)

PROGRESS = "/api/v1/learning/progress"
#: Every API path and the methods it answers.
API_METHODS = {
    PROGRESS: ["GET", "HEAD", "PUT"],
    "/api/v1/auth/login": ["POST"],
    "/api/v1/health": ["GET", "HEAD"],
    "/api/v1/openapi.json": ["GET", "HEAD"],
}
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
#: The deadlines the timeout tests run the server with (seconds).
DEADLINE = 1
FILES = {
    "index.html": b"<!doctype html><p>page</p>",
    "build.json": b"{}",
    ".env": b"SECRET=dotfile",
    ".git/config": b"[core] SECRET=dotdir",
    ".well-known/thing": b"SECRET=well-known",
    "app-0123456789ab/.hidden.js": b"SECRET=hidden",
    "app-0123456789ab/page.js": b"export {}",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The page and the API, with short header and body deadlines."""
    root = tmp_path_factory.mktemp("hygiene")
    web = root / "web"
    for rel, data in FILES.items():
        (web / rel).parent.mkdir(parents=True, exist_ok=True)
        (web / rel).write_bytes(data)
    server = start_server_process(
        f"sqlite:///{root / 'db.sqlite3'}",
        root / "data",
        "--web", str(web),
        "--header-timeout", str(DEADLINE),
        "--body-timeout", str(DEADLINE),
    )  # fmt: skip
    try:
        yield server
    finally:
        stop_server_process(server)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hygiene.sqlite3'}"


def _address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port)


def _exchange(
    site: ServerProcess, parts: list[tuple[bytes, float]], wait: float = 10
) -> tuple[float, bytes, bool]:
    """Send each part then sleep its delay, while reading; returns the seconds until the server
    closed (or ``wait``), what it sent, and whether it closed the connection."""
    sock = socket.create_connection(_address(site.url))
    start = time.monotonic()
    received = b""
    closed = False
    try:
        sock.setblocking(False)
        for data, delay in [*parts, (b"", wait)]:
            try:
                if data:
                    sock.sendall(data)
            except OSError:
                closed = True
                break
            until = time.monotonic() + delay
            while time.monotonic() < until and not closed:
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    time.sleep(0.02)
                    continue
                except OSError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                received += chunk
            if closed:
                break
    finally:
        sock.close()
    return time.monotonic() - start, received, closed


def _head_and_body(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _envelope(body: bytes, code: str) -> None:
    assert ErrorEnvelope.model_validate_json(body).error.code == code


def _request(method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *headers]
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _assert_security_headers(response: httpx.Response, csp: str) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == csp
    assert "frame-ancestors 'none'" in csp


# --------------------------------------------------------------------------- 405 and 404


def _check_405(client: httpx.Client) -> None:
    for path, allowed in API_METHODS.items():
        for method in METHODS:
            if method in allowed:
                continue
            response = client.request(method, path, headers=auth("u"))
            assert response.status_code == 405, (method, path, response.text)
            assert response.headers["allow"] == ", ".join(allowed), (method, path)
            if method != "HEAD":
                _envelope(response.content, "method_not_allowed")
            _assert_security_headers(response, API_CSP)
            assert response.headers["cache-control"] == "no-store"


def test_a_wrong_method_is_405_with_allow_on_every_api_path(server: LiveServer) -> None:
    _check_405(server.client)


def test_a_wrong_method_is_405_with_allow_beside_the_page(site: ServerProcess) -> None:
    with httpx.Client(base_url=site.url) as client:
        _check_405(client)


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/", "/api/v1/health/", "/api/.env"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_unknown_api_path_is_404_whatever_the_method(
    site: ServerProcess, path: str, method: str
) -> None:
    response = httpx.request(method, site.url + path)
    assert response.status_code == 404, response.text
    _envelope(response.content, "not_found")


# --------------------------------------------------------------------------- dotfiles


@pytest.mark.parametrize(
    "path",
    [
        "/.env",
        "/%2eenv",
        "/%2Eenv",
        "//.env",
        "/./.env",
        "/x/../.env",
        "/x/%2e%2e/.env",
        "/.env/",
        "/.git/config",
        "/.git/",
        "/.well-known/thing",
        "/app-0123456789ab/.hidden.js",
        "/app-0123456789ab//.hidden.js",
        "/app-0123456789ab/%2ehidden.js",
        "/.",
        "/..",
    ],
)
def test_dotfiles_and_dot_directories_are_never_served(site: ServerProcess, path: str) -> None:
    _, raw, _ = _exchange(site, [(_request("GET", path, "Connection: close"), 0)], wait=5)
    status, headers, body = _head_and_body(raw)
    assert status in (400, 404), raw[:200]
    assert b"SECRET" not in body
    assert headers["x-content-type-options"] == "nosniff"


def test_the_page_files_are_served(site: ServerProcess) -> None:
    for path in ["/", "/index.html", "/app-0123456789ab/page.js"]:
        response = httpx.get(site.url + path)
        assert response.status_code == 200, path
        _assert_security_headers(response, page_csp({}))


# --------------------------------------------------------------------------- security headers


def test_api_answers_carry_the_security_headers(site: ServerProcess) -> None:
    with httpx.Client(base_url=site.url) as client:
        answers = [
            client.get("/api/v1/health"),
            client.get("/api/v1/openapi.json"),
            client.get(PROGRESS, headers=auth("u")),
            client.get(PROGRESS),  # 401
            client.get(PROGRESS, params={"limit": "0"}, headers=auth("u")),  # 422
            client.put(
                PROGRESS,
                content=b"[NaN]",
                headers={**auth("u"), "Content-Type": "application/json"},
            ),  # 400
            client.delete(PROGRESS),  # 405
            client.get("/api/v1/nothing"),  # 404
            client.get("/nothing-here"),  # 404 beside the page
        ]
    for response in answers:
        assert response.headers["content-type"].startswith("application/json")
        _assert_security_headers(response, API_CSP)
    assert [r.status_code for r in answers] == [200, 200, 200, 401, 422, 400, 405, 404, 404]


def test_the_page_policy_keeps_its_script_rules() -> None:
    policy = page_csp({})
    assert "script-src 'self' 'wasm-unsafe-eval';" in policy
    assert "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "frame-ancestors 'none'" in API_CSP


# --------------------------------------------------------------------------- deadlines


def test_headers_that_trickle_get_408_and_the_connection_closes(site: ServerProcess) -> None:
    parts = [(b"GET /api/v1/health HTTP/1.1\r\n", 0.3)]
    parts += [(f"X-Slow-{i}: x\r\n".encode(), 0.3) for i in range(20)]  # 6 s if let through
    elapsed, raw, closed = _exchange(site, parts)
    assert closed and elapsed < DEADLINE + 2.5, elapsed
    status, headers, body = _head_and_body(raw)
    assert status == 408
    assert headers["connection"] == "close"
    assert headers["x-content-type-options"] == "nosniff"
    _envelope(body, "request_timeout")


def test_a_silent_connection_is_closed(site: ServerProcess) -> None:
    elapsed, raw, closed = _exchange(site, [])
    assert closed and elapsed < DEADLINE + 2.5, elapsed
    assert raw == b""  # nobody asked anything: nothing to answer


def test_an_idle_kept_alive_connection_then_slow_headers_are_cut(site: ServerProcess) -> None:
    request = _request("GET", "/api/v1/health")
    elapsed, raw, closed = _exchange(
        site, [(request, 0.2), (request, 0.2), (b"GET /api/v1/health HTTP/1.1\r\n", 0)]
    )
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    assert raw.count(b"HTTP/1.1 408") == 1
    assert closed and elapsed < DEADLINE + 3, elapsed


def _stalled_upload(content_length: int = 1000, user: str = "u") -> bytes:
    return (
        _request(
            "PUT",
            PROGRESS,
            f"Authorization: Bearer {token_for(user)}",
            "Content-Type: application/json",
            f"Content-Length: {content_length}",
        ).replace(b"Content-Length: 0\r\n", b"")
        + b'{"events":'
    )


def test_a_stalled_upload_gets_408_and_the_connection_closes(site: ServerProcess) -> None:
    elapsed, raw, closed = _exchange(site, [(_stalled_upload(), 0)])
    assert closed and elapsed < DEADLINE + 2.5, elapsed
    status, headers, body = _head_and_body(raw)
    assert status == 408
    assert headers["connection"] == "close"
    _envelope(body, "request_timeout")


def test_a_body_that_trickles_gets_408(site: ServerProcess) -> None:
    parts = [(_stalled_upload(), 0.2)] + [(b" ", 0.2) for _ in range(30)]
    elapsed, raw, closed = _exchange(site, parts)
    assert closed and elapsed < DEADLINE + 2.5, elapsed
    assert _head_and_body(raw)[0] == 408


def test_many_stalled_uploads_are_all_let_go(site: ServerProcess) -> None:
    socks = []
    try:
        for i in range(200):  # 200 learners (one learner's 200 PUTs would be rate limited)
            sock = socket.create_connection(_address(site.url))
            sock.sendall(_stalled_upload(user=f"stalled-{i}"))
            socks.append(sock)
        time.sleep(DEADLINE + 1.5)
        answered = 0
        for sock in socks:
            sock.settimeout(5)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            answered += data.startswith(b"HTTP/1.1 408")
        assert answered == len(socks)  # each answered, then closed (recv saw the end)
    finally:
        for sock in socks:
            sock.close()
    assert httpx.get(f"{site.url}/api/v1/health").status_code == 200


def test_a_refused_body_cannot_trickle_for_ever(site: ServerProcess) -> None:
    # No token: refused before the body is read; the rest of the body may come in for a while.
    request = _request("PUT", PROGRESS, "Content-Type: application/json", "Content-Length: 100000")
    parts = [(request.replace(b"Content-Length: 0\r\n", b""), 0.2)]
    parts += [(b" ", 0.2) for _ in range(40)]  # 8 s if let through
    elapsed, raw, closed = _exchange(site, parts)
    assert _head_and_body(raw)[0] == 401
    assert closed and elapsed < DEADLINE + 3, elapsed


# --------------------------------------------------------------------------- disconnects


def test_a_client_that_goes_away_is_one_line_in_the_log(site: ServerProcess) -> None:
    before = site.log.read_text()
    for i in range(3):
        sock = socket.create_connection(_address(site.url))
        sock.sendall(_stalled_upload(user=f"leaving-{i}"))
        time.sleep(0.2)
        sock.close()
    time.sleep(0.5)
    assert httpx.get(f"{site.url}/api/v1/health").status_code == 200
    new = site.log.read_text()[len(before) :]
    assert "Traceback" not in new and "Exception" not in new, new
    lines = [line for line in new.splitlines() if "disconnected" in line]
    assert len(lines) == 3, new
    assert all("PUT /api/v1/learning/progress" in line for line in lines)
    assert len(new.splitlines()) == 3, new


def test_the_server_logs_no_traceback(site: ServerProcess) -> None:
    # Runs last in this module: nothing above made the server write a traceback.
    assert "Traceback" not in site.log.read_text()


def test_timeouts_are_options_of_serve() -> None:
    from pyserver.__main__ import _parser

    args = _parser().parse_args(["serve", "--header-timeout", "2.5", "--body-timeout", "7"])
    assert (args.header_timeout, args.body_timeout) == (2.5, 7)
    defaults = _parser().parse_args(["serve"])
    assert 0 < defaults.header_timeout <= 30 and 0 < defaults.body_timeout <= 60
    for bad in ["0", "-1", "nan", "inf"]:
        with pytest.raises(SystemExit):
            _parser().parse_args(["serve", "--header-timeout", bad])


def test_json_bodies_of_408_are_envelopes() -> None:
    from pyserver.http_server import _timeout_response

    status, headers, body = _head_and_body(_timeout_response(3))
    assert status == 408 and headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    assert json.loads(body)["error"]["code"] == "request_timeout"
