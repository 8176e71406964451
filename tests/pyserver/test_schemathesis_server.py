"""Schemathesis against the server as it runs (``python -m pyserver serve``, a real process),
from the OpenAPI document it publishes at ``/api/v1/openapi.json``, with a valid token.

Every check runs (no 5xx first of all; documented statuses, content types and headers, bodies
that match their schemas, invalid requests refused, 405 with ``Allow`` for undocumented methods,
401 without the token) but ``positive_data_acceptance``: a schema cannot say which cursors the
server signed, nor that February has no 31st, so schema-valid requests may be refused. The
examples are bounded and the seed fixed, so a run takes seconds and is repeatable.

By hand, against any server:
``schemathesis run http://127.0.0.1:8000/api/v1/openapi.json -H "Authorization: Bearer $(python
-m pyserver token fuzz-user)" --checks all --exclude-checks positive_data_acceptance -n 100``
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import (
    ServerProcess,
    start_server_process,
    stop_server_process,
    token_for,
)

EXAMPLES = 100
SEED = 1
CONFIG = """\
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 408, 413, 415, 422]
"""


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ServerProcess]:
    # Input handling is what is fuzzed: past the PUT rate limit every PUT would be a 429
    # before its body is read (the limit has its own tests in test_write_limits.py).
    server = start_server_process(
        f"sqlite:///{tmp_path / 'fuzz.sqlite3'}",
        tmp_path / "data",
        env={"PYSERVER_PUT_RATE_LIMIT": "none"},
    )
    try:
        yield server
    finally:
        stop_server_process(server)


def test_schemathesis_finds_nothing_against_the_running_server(
    api: ServerProcess, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    junit = tmp_path / "junit.xml"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(config),
        "--no-color",
        "run", f"{api.url}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {token_for('fuzz-user')}",
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",
        "--max-examples", str(EXAMPLES),
        "--seed", str(SEED),
        "--generation-database", "none",
        "--request-timeout", "10",
        "--report", "junit",
        "--report-junit-path", str(junit),
    ]  # fmt: skip
    run = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    suites = ET.parse(junit).getroot()
    cases = suites.findall(".//testcase")
    assert {c.get("name", "").split(" ", 1)[0] for c in cases} >= {"GET", "PUT", "POST"}, output
    failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    assert not failed, output
    assert "Traceback" not in api.log.read_text()
