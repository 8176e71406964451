"""The command line of DESIGN §4: serve (--web, --demo, --cors-origin), token, users add."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from .conftest import REPO, SECRET, start_server_process, stop_server_process


def _cli(
    *args: str, data_dir: Path, stdin: str = "", secret: str | None = SECRET
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYSERVER_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    env.pop("PYSERVER_JWT_SECRET", None)
    env.pop("PYSERVER_DATABASE_URL", None)
    if secret is not None:
        env["PYSERVER_JWT_SECRET"] = secret
    return subprocess.run(
        [sys.executable, "-m", "pyserver", *args],
        input=stdin, capture_output=True, text=True, cwd=REPO, env=env, timeout=60,
    )  # fmt: skip


def test_token_prints_an_hs256_token_with_sub_and_exp(tmp_path: Path) -> None:
    result = _cli("token", "user-7", "--ttl", "120", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["sub"] == "user-7"
    assert 100 < claims["exp"] - time.time() <= 120


def test_without_an_environment_secret_one_is_generated_once_in_the_data_dir(
    tmp_path: Path,
) -> None:
    first = _cli("token", "u", data_dir=tmp_path, secret=None).stdout.strip()
    second = _cli("token", "u", data_dir=tmp_path, secret=None).stdout.strip()
    secret = (tmp_path / "jwt-secret").read_text().strip()
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0
    for token in (first, second):
        assert jwt.decode(token, secret, algorithms=["HS256"])["sub"] == "u"


def test_a_short_environment_secret_is_refused(tmp_path: Path) -> None:
    result = _cli("token", "u", data_dir=tmp_path, secret="short")
    assert result.returncode == 1
    assert "32 bytes" in result.stderr


def test_users_add_reads_the_password_from_stdin_and_login_accepts_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'users.sqlite3'}"
    added = _cli("users", "add", "ada@example.com", "--database-url", url,
                 data_dir=tmp_path, stdin="s3cret pass\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    user_id = added.stdout.strip()
    again = _cli("users", "add", "ada@example.com", "--database-url", url,
                 data_dir=tmp_path, stdin="other\n")  # fmt: skip
    assert again.returncode == 1
    server = start_server_process(url, tmp_path)
    try:
        response = httpx.post(
            f"{server.url}/api/v1/auth/login",
            json={"email": "ada@example.com", "password": "s3cret pass"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["userId"] == user_id
    finally:
        stop_server_process(server)


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    (web / "pyodide").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>page</title>")
    for name in ["pyodide/pyodide.asm.wasm", "pyodide/pyodide.mjs", "app.js",
                 "pyodide/pyodide-lock.json", "pyodide/pyclient-0.1.0-py3-none-any.whl",
                 "pyodide/python_stdlib.zip"]:  # fmt: skip
        (web / name).write_bytes(b"x")
    return web


def test_serve_web_demo_serves_the_page_and_api_from_one_origin(
    tmp_path: Path, web_dir: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    server = start_server_process(
        url, tmp_path / "data", "--web", str(web_dir), "--demo",
        "--cors-origin", "http://elsewhere.test",
    )  # fmt: skip
    try:
        with httpx.Client(base_url=server.url) as client:
            page = client.get("/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            expected = {
                "/pyodide/pyodide.asm.wasm": "application/wasm",
                "/pyodide/pyodide.mjs": "text/javascript",
                "/app.js": "text/javascript",
                "/pyodide/pyodide-lock.json": "application/json",
                "/pyodide/pyclient-0.1.0-py3-none-any.whl": "application/zip",
                "/pyodide/python_stdlib.zip": "application/zip",
            }
            for path, media_type in expected.items():
                response = client.get(path)
                assert response.status_code == 200, path
                assert response.headers["content-type"].split(";")[0] == media_type, path
            assert client.get("/missing.js").status_code == 404
            login = client.post(
                "/api/v1/auth/login",
                json={"email": "demo@example.com", "password": "demo-password"},
            )
            assert login.status_code == 200, login.text
            token = login.json()["data"]["token"]
            progress = client.get(
                "/api/v1/learning/progress", headers={"Authorization": f"Bearer {token}"}
            )
            assert progress.status_code == 200
            preflight = client.options(
                "/api/v1/learning/progress",
                headers={
                    "Origin": "http://elsewhere.test",
                    "Access-Control-Request-Method": "PUT",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            )
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == "http://elsewhere.test"
        assert "http://127.0.0.1:" in server.log.read_text()
    finally:
        stop_server_process(server)
    # --demo again: the user exists already, nothing breaks
    again = start_server_process(url, tmp_path / "data", "--demo")
    stop_server_process(again)


def test_csp_prints_the_policy_the_server_sends_with_the_page(tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>t</title>")
    (web / "build.json").write_text('{"csp": {"style-src": ["\'sha256-abc=\'"]}}')
    result = _cli("csp", "--web", str(web), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    policy = result.stdout.strip()
    assert "style-src 'self' 'sha256-abc='" in policy and "frame-ancestors 'none'" in policy
    server = start_server_process(
        f"sqlite:///{tmp_path / 'csp.sqlite3'}", tmp_path / "data", "--web", str(web)
    )
    try:
        page = httpx.get(f"{server.url}/")
        assert page.headers["content-security-policy"] == policy
    finally:
        stop_server_process(server)
    missing = _cli("csp", "--web", str(tmp_path / "nowhere"), data_dir=tmp_path)
    assert missing.returncode == 2 and "no index.html" in missing.stderr
