"""What operators rely on: ``/metrics`` (scraped and parsed), liveness and readiness (with the
database stopped and started again, and with a schema this server does not know), and the
JSON access log of a real server process."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyserver import create_user, open_storage
from pyserver.config import WriteLimits
from pyserver.write_limits import WriteLimiter

from .conftest import (
    IN_CI,
    LiveServer,
    auth,
    start_server_process,
    stop_server_process,
)
from .events import many, put_body
from .pgcluster import PostgresCluster, find_bindir

PROGRESS = "/api/v1/learning/progress"


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``: (name, sorted labels) → value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_with_requests(server: LiveServer) -> None:
    create_user(server.storage, "ops@example.com", "right-password")
    before = scrape(server.client)
    headers = auth("metrics-user")
    assert (
        server.client.put(PROGRESS, json=put_body(many("m", 3)), headers=headers).status_code == 200
    )
    assert (
        server.client.put(PROGRESS, json=put_body(many("m", 3)), headers=headers).status_code == 200
    )
    assert server.client.get(PROGRESS, headers=headers).status_code == 200
    wrong = {"email": "ops@example.com", "password": "wrong-password"}
    assert server.client.post("/api/v1/auth/login", json=wrong).status_code == 401
    server.app.state.api.write_limiter = WriteLimiter(WriteLimits(put_rate="1 per minute"))
    assert server.client.put(PROGRESS, json=put_body([]), headers=headers).status_code == 200
    assert server.client.put(PROGRESS, json=put_body([]), headers=headers).status_code == 429
    after = scrape(server.client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    progress = "/api/v1/learning/progress"
    assert moved("pyserver_http_requests_total", route=progress, method="PUT", status="200") == 3
    assert moved("pyserver_http_requests_total", route=progress, method="PUT", status="429") == 1
    assert moved("pyserver_http_requests_total", route=progress, method="GET", status="200") == 1
    assert moved("pyserver_http_request_duration_seconds_count", route=progress, method="GET") == 1
    assert moved("pyserver_events_stored_total") == 3  # the repeat stored nothing
    assert moved("pyserver_login_failures_total") == 1
    assert moved("pyserver_throttled_total", limit="put") == 1
    assert moved("pyserver_snapshot_fold_seconds_count", kind="full") == 1
    assert moved("pyserver_http_requests_total", route="/metrics", method="GET", status="200") == 1
    assert (
        moved(
            "pyserver_http_requests_total", route="/api/v1/openapi.json", method="GET", status="200"
        )
        == 0
    )


def test_unknown_paths_do_not_make_new_label_values(server: LiveServer) -> None:
    for i in range(5):
        server.client.get(f"/api/v1/nothing-{i}")
    samples = scrape(server.client)
    routes = {
        dict(labels).get("route")
        for (name, labels) in samples
        if name == "pyserver_http_requests_total"
    }
    assert not any(route and "nothing" in route for route in routes)
    assert (
        value(
            samples,
            "pyserver_http_requests_total",
            route="/api/{rest:path}",
            method="GET",
            status="404",
        )
        == 5
    )


def test_liveness_and_readiness(server: LiveServer) -> None:
    live = server.client.get("/api/v1/health/live")
    assert live.status_code == 200 and live.json()["data"]["status"] == "live"
    ready = server.client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json()["data"] == {
        "status": "ready",
        "schemaVersion": server.storage.known_schema_version,
    }


def test_readiness_fails_on_a_schema_this_server_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    storage = open_storage(f"sqlite:///{path}")
    live = LiveServer.start(storage)
    try:
        conn = sqlite3.connect(path)
        try:
            with conn:
                conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)",
                    (storage.known_schema_version + 1,),
                )
        finally:
            conn.close()
        ready = live.client.get("/api/v1/health/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "not_ready"
        assert live.client.get("/api/v1/health/live").status_code == 200
    finally:
        live.stop()
        storage.close()


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server of its own, which the test may stop and start again."""
    bindir = find_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed")
    cluster = PostgresCluster(bindir)
    cluster.start()
    yield cluster
    cluster.stop()


def test_readiness_fails_while_the_database_is_stopped_and_recovers(
    own_cluster: PostgresCluster, tmp_path: Path
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{own_cluster.port}/postgres"
    process = start_server_process(url, tmp_path / "data")
    try:
        client = httpx.Client(base_url=process.url, timeout=30)
        assert client.get("/api/v1/health/ready").status_code == 200
        own_cluster.pause()
        ready = client.get("/api/v1/health/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "not_ready"
        assert client.get("/api/v1/health/live").status_code == 200
        own_cluster.resume()
        deadline = time.monotonic() + 30
        while client.get("/api/v1/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "readiness did not recover"
            time.sleep(0.2)
        assert client.get(PROGRESS, headers=auth("after-restart")).status_code == 200
        client.close()
    finally:
        stop_server_process(process)


def test_the_json_access_log_is_one_object_per_request(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    process = start_server_process(database, tmp_path / "data", "--json-access-log")
    try:
        httpx.get(f"{process.url}/api/v1/health/live")
        httpx.get(f"{process.url}{PROGRESS}?limit=5", headers=auth("logged"))
        httpx.get(f"{process.url}{PROGRESS}")  # no token: 401
        time.sleep(0.3)
    finally:
        stop_server_process(process)
    records = []
    for line in process.log.read_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    paths = [(r["method"], r["path"], r["status"]) for r in records]
    assert ("GET", "/api/v1/health/live", 200) in paths
    assert ("GET", PROGRESS, 200) in paths and ("GET", PROGRESS, 401) in paths
    for record in records:
        assert set(record) == {"time", "method", "path", "status", "durationMs", "client"}
        assert record["client"] == "127.0.0.1" and record["durationMs"] >= 0
        assert "?" not in record["path"]


def test_made_up_methods_do_not_make_new_label_values(server: LiveServer) -> None:
    for i in range(5):
        server.client.request(f"X{i}", "/api/v1/learning/progress")
    samples = scrape(server.client)
    methods = {
        dict(labels).get("method")
        for (name, labels) in samples
        if name == "pyserver_http_requests_total"
    }
    assert not any(m and m.startswith("X") for m in methods)
    catch_all = "/api/{rest:path}"  # the 405 is answered by the catch-all of API paths
    label = {"route": catch_all, "method": "other", "status": "405"}
    assert value(samples, "pyserver_http_requests_total", **label) == 5
