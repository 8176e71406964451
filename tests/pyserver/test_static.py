"""The built page as pyserver serves it (`serve --web DIR`, a real process over real files): the
precompressed variant chosen by Accept-Encoding, immutable hashed paths and revalidated entry
points, 304s, media types, the security headers on page and API answers alike (errors too),
dotfiles refused, /api/ never served from the directory, and a rebuilt dist served at once.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path

import brotli
import httpx
import pytest

from pyserver import open_storage
from pyserver.security import API_CSP, page_csp
from pyserver.static import HASHED_PATH, IMMUTABLE

from .conftest import LiveServer, ServerProcess, auth, start_server_process, stop_server_process

APP = "app-0123456789ab"
RUNTIME = "pyodide-abcdef012345"
WHEEL = "packages/00112233aabb/demo-1.0-py3-none-any.whl"
LOCK = "packages/pyodide-lock-ffeeddccbbaa.json"
STYLE = "body { color: #123; }"
SCRIPT_TEXT = "export const hello = 'world'\n" * 200  # compressible
FILES: dict[str, bytes] = {
    "index.html": f"<!doctype html><style>{STYLE}</style><p>page</p>\n".encode() * 40,
    "sw.js": b"self.addEventListener('fetch', () => {})\n" * 50,
    "progress-client.js": f"export * from './{APP}/progress-client.js'\n".encode(),
    f"{APP}/progress-client.js": SCRIPT_TEXT.encode(),
    f"{APP}/page/app.js": SCRIPT_TEXT.encode(),
    f"{APP}/content/en/items.json": json.dumps({"items": ["x"] * 500}).encode(),
    f"{RUNTIME}/pyodide.asm.wasm": b"\0asm\1\0\0\0" + bytes(range(256)) * 400,
    f"{RUNTIME}/pyodide.asm.mjs": SCRIPT_TEXT.encode(),
    f"{RUNTIME}/python_stdlib.zip": b"PK" + b"stored module text " * 2000,
    WHEEL: b"PK" + b"stored wheel member " * 2000,
    LOCK: json.dumps({"packages": {}}).encode(),
    "tiny.txt": b"x",  # nothing to gain: served as is, no Vary
    ".env": b"SECRET=1",
    ".git/config": b"[core]",
    f"{APP}/.hidden.js": b"secret",
    "api/v1/health": b"not the API",
}
ROOT_FILES = ["index.html", "sw.js", "progress-client.js", "build.json"]
HASHED_FILES = [f"{APP}/page/app.js", f"{RUNTIME}/pyodide.asm.wasm", WHEEL, LOCK]


def _write_dist(web: Path, csp: list[str]) -> None:
    for rel, data in FILES.items():
        path = web / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if len(data) > 100 and not rel.startswith((".", "api/")):
            (web / f"{rel}.br").write_bytes(brotli.compress(data))
            (web / f"{rel}.gz").write_bytes(gzip.compress(data, mtime=0))
    manifest = {"app": APP, "runtime": RUNTIME, "csp": {"style-src": csp, "script-src": []}}
    (web / "build.json").write_text(json.dumps(manifest))


def style_hash() -> str:
    from buildsteps.index_html import csp_hash

    return csp_hash(STYLE)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    web = tmp_path_factory.mktemp("static") / "web"
    _write_dist(web, [style_hash()])
    return web


@pytest.fixture(scope="module")
def site(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("static-data")
    server = start_server_process(f"sqlite:///{data / 'db.sqlite3'}", data, "--web", str(dist))
    try:
        yield server
    finally:
        stop_server_process(server)


def get(site: ServerProcess, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (not decoded)."""
    with (
        httpx.Client(base_url=site.url) as client,
        client.stream("GET", path, headers=headers) as r,
    ):
        return r, b"".join(r.iter_raw())


def decode(body: bytes, coding: str | None) -> bytes:
    if coding == "br":
        return bytes(brotli.decompress(body))
    if coding == "gzip":
        return gzip.decompress(body)
    assert coding is None, coding
    return body


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("identity", None),
        ("", None),
    ],
)
@pytest.mark.parametrize("path", ["index.html", f"{RUNTIME}/pyodide.asm.wasm", WHEEL])
def test_the_variant_follows_accept_encoding_and_decodes_to_the_file(
    site: ServerProcess, path: str, accept: str, coding: str | None
) -> None:
    response, body = get(site, f"/{path}", **{"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == coding
    assert response.headers["vary"] == "Accept-Encoding"
    assert int(response.headers["content-length"]) == len(body)
    assert decode(body, coding) == FILES[path]
    if coding is not None:
        assert len(body) < len(FILES[path])


def test_a_file_without_variants_is_sent_as_is_without_vary(site: ServerProcess) -> None:
    response, body = get(site, "/tiny.txt", **{"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and body == b"x"
    assert "content-encoding" not in response.headers and "vary" not in response.headers


@pytest.mark.parametrize("path", HASHED_FILES)
def test_hashed_paths_are_cached_for_good(site: ServerProcess, path: str) -> None:
    response, _ = get(site, f"/{path}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize("path", ["", *ROOT_FILES])
def test_entry_points_are_revalidated(site: ServerProcess, path: str) -> None:
    response, _ = get(site, f"/{path}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


def test_index_html_is_the_root_and_both_answer_200(site: ServerProcess) -> None:
    root, root_body = get(site, "/", **{"Accept-Encoding": "identity"})
    index, index_body = get(site, "/index.html", **{"Accept-Encoding": "identity"})
    assert root.status_code == index.status_code == 200
    assert root_body == index_body == FILES["index.html"]
    assert root.headers["content-type"].startswith("text/html")


def test_the_server_and_the_build_agree_on_hashed_paths() -> None:
    from buildsteps.files import HASHED_PATH as BUILD_RULE

    assert HASHED_PATH.pattern == BUILD_RULE
    for path in HASHED_FILES:
        assert HASHED_PATH.search("/" + path), path
    for path in ROOT_FILES:
        assert not HASHED_PATH.search("/" + path), path


def test_an_etag_revalidates_to_304_keeping_the_pages_policy(site: ServerProcess) -> None:
    first, _ = get(site, "/index.html", **{"Accept-Encoding": "br"})
    etag = first.headers["etag"]
    again, body = get(site, "/index.html", **{"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and body == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-cache"
    # a 304's headers update the stored page's: never another policy than the page's own
    page_policy = first.headers["content-security-policy"]
    assert again.headers.get("content-security-policy") in (None, page_policy)
    changed, _ = get(site, "/index.html", **{"If-None-Match": '"other"'})
    assert changed.status_code == 200


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        (f"{RUNTIME}/pyodide.asm.wasm", "application/wasm"),
        (f"{RUNTIME}/pyodide.asm.mjs", "text/javascript"),
        (f"{APP}/page/app.js", "text/javascript"),
        (WHEEL, "application/zip"),
        (f"{RUNTIME}/python_stdlib.zip", "application/zip"),
        (LOCK, "application/json"),
        ("index.html", "text/html"),
    ],
)
def test_media_types(site: ServerProcess, path: str, media_type: str) -> None:
    response, _ = get(site, f"/{path}", **{"Accept-Encoding": "br"})
    assert response.headers["content-type"].split(";")[0] == media_type


def _assert_security_headers(response: httpx.Response, csp: str) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers.get_list("content-security-policy") == [csp]


@pytest.mark.parametrize("path", ["", "index.html", "sw.js", f"{RUNTIME}/pyodide.asm.wasm"])
def test_page_files_carry_the_pages_policy_with_the_inline_style_hash(
    site: ServerProcess, path: str
) -> None:
    response, _ = get(site, f"/{path}")
    policy = page_csp({"style-src": [style_hash()]})
    _assert_security_headers(response, policy)
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert style_hash() in directives["style-src"].split()
    assert "'wasm-unsafe-eval'" in directives["script-src"].split()
    assert directives["frame-ancestors"] == "'none'"
    assert directives["connect-src"] == "'self'" and directives["worker-src"] == "'self'"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/health", 200),
        ("GET", "/api/v1/learning/progress", 401),
        ("GET", "/api/v1/nothing", 404),
        ("POST", "/api/v1/auth/login", 415),
        ("GET", "/missing.js", 404),
    ],
)
def test_api_answers_and_errors_carry_the_security_headers(
    site: ServerProcess, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, site.url + path, content=b"{", timeout=10)
    assert response.status_code == status
    _assert_security_headers(response, API_CSP)


def test_an_internal_error_carries_the_security_headers(server: LiveServer) -> None:
    def broken(user_id: str) -> int:
        raise RuntimeError("boom")

    server.storage.last_position = broken  # type: ignore[method-assign]
    response = server.client.get("/api/v1/learning/progress", headers=auth("u"))
    assert response.status_code == 500
    _assert_security_headers(response, API_CSP)


@pytest.mark.parametrize("path", ["/.env", "/.git/config", f"/{APP}/.hidden.js", "/.env.br"])
def test_dotfiles_are_never_served(site: ServerProcess, path: str) -> None:
    response, body = get(site, path)
    assert response.status_code == 404
    assert b"SECRET" not in body and b"secret" not in body


def test_api_paths_never_come_from_the_directory(site: ServerProcess) -> None:
    response, body = get(site, "/api/v1/health")
    assert response.status_code == 200
    assert json.loads(body)["ok"] is True
    assert b"not the API" not in body


def test_a_rebuilt_dist_is_served_without_a_restart(tmp_path: Path) -> None:
    web = tmp_path / "web"
    _write_dist(web, [])
    server = start_server_process(
        f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "data", "--web", str(web)
    )
    try:
        new = "app-999999999999/page/app.js"
        assert httpx.get(f"{server.url}/{new}").status_code == 404
        (web / new).parent.mkdir(parents=True)
        (web / new).write_text("export {}\n")
        time.sleep(0.01)
        _write_dist(web, [style_hash()])  # build.json written last, as the build does
        response = httpx.get(f"{server.url}/{new}")
        assert response.status_code == 200 and response.text == "export {}\n"
        assert style_hash() in response.headers["content-security-policy"]
    finally:
        stop_server_process(server)


def test_the_client_types_are_served_as_text(tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "app-0123456789ab").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html>")
    (web / "app-0123456789ab" / "progress-client.d.ts").write_text("export {}\n")
    storage = open_storage(f"sqlite:///{tmp_path / 'types.sqlite3'}")
    live = LiveServer.start(storage, web_dir=web)
    try:
        response = live.client.get("/app-0123456789ab/progress-client.d.ts")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
    finally:
        live.stop()
        storage.close()
