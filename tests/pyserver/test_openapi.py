"""The published OpenAPI document, and a schemathesis run against it (bounded examples).

Schemathesis generates requests from ``/api/v1/openapi.json`` (valid and invalid ones) and
checks every response: never a 5xx, a documented status, content type and headers, a body
that matches its schema, schema-invalid requests refused, and 401 when the token is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pyserver import create_user, open_storage
from pyserver.config import WriteLimits
from pyserver.write_limits import WriteLimiter

from .conftest import LiveServer, auth

EXAMPLES = 40


@pytest.fixture
def fuzzed_server(tmp_path: Path) -> Iterator[LiveServer]:
    storage = open_storage(f"sqlite:///{tmp_path / 'fuzz.sqlite3'}")
    create_user(storage, "fuzz@example.com", "fuzz-password")
    live = LiveServer.start(storage)
    # Input handling is what is fuzzed: past the PUT rate limit every PUT would be a 429
    # before its body is read (the limit has its own tests in test_write_limits.py).
    live.app.state.api.write_limiter = WriteLimiter(WriteLimits(put_rate="none"))
    yield live
    live.stop()
    storage.close()


@pytest.fixture
def api_schema(fuzzed_server: LiveServer) -> schemathesis.BaseSchema:
    # A too large body is refused with 413 (DESIGN §4), an unsupported one with 415.
    config = schemathesis.Config.from_dict(
        {
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 413, 415, 422]
                }
            }
        }
    )
    api = schemathesis.openapi.from_url(f"{fuzzed_server.url}/api/v1/openapi.json", config=config)

    # The token goes in through schemathesis's own auth support, not as headers at call time:
    # a case that leaves the token out must reach the server without it, or the check that
    # invalid requests are refused would judge a request the server never received.
    @api.auth()
    class FuzzUserToken:
        def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
            return auth("fuzz-user")["Authorization"]

        def set(
            self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext
        ) -> None:
            case.headers = {**(case.headers or {}), "Authorization": data}

    return api


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_conforms_to_its_published_schema(
    case: schemathesis.Case, fuzzed_server: LiveServer
) -> None:
    case.call_and_validate(
        base_url=fuzzed_server.url,
        # A schema cannot say which cursors the server signed, nor that February has no 31st:
        # schema-valid requests may be refused (400 invalid_cursor, 422), by design.
        excluded_checks=[positive_data_acceptance],
    )


def test_the_schema_documents_every_route(fuzzed_server: LiveServer) -> None:
    document = fuzzed_server.client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    routes = {route.path for route in fuzzed_server.app.state.api.routes()}
    assert set(document["paths"]) == routes - {"/api/v1/openapi.json"}
    assert {
        "/api/v1/learning/progress",
        "/api/v1/auth/login",
        "/api/v1/health",
        "/api/v1/health/live",
        "/api/v1/health/ready",
    } <= routes
    schemas = document["components"]["schemas"]
    assert {"PutProgressRequest", "GetProgressResponse", "ErrorEnvelope"} <= set(schemas)
