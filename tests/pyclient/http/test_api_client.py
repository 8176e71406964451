"""The API client: requests, batching and error mapping (DESIGN §4, §5)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from pyclient.errors import ApiError, SessionExpiredError
from pyclient.http.api_client import (
    MAX_BATCH_BYTES,
    ApiClient,
    batch_events,
    error_for_response,
    put_body,
)
from pyclient.ports import HttpResponse

from ..builders import at, progressed
from ..fakes import FakeServer, FakeTransport, drive, error_response, json_response


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (403, False),
        (404, False),
        (413, False),
        (422, False),
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
    ],
)
def test_status_codes_map_to_retryable_or_permanent_errors(status: int, retryable: bool) -> None:
    error = error_for_response(error_response(status, "some_code"))
    assert type(error) is ApiError
    assert error.status == status and error.retryable is retryable and error.code == "some_code"


def test_401_is_session_expired() -> None:
    error = error_for_response(error_response(401, "token_expired"))
    assert isinstance(error, SessionExpiredError) and not error.retryable


def test_retry_after_in_seconds_and_as_a_date() -> None:
    seconds = error_for_response(error_response(503, "x", {"retry-after": "7"}))
    assert seconds.retry_after_ms == 7000
    date = error_response(429, "x", {"Retry-After": "Thu, 01 Jan 2026 00:00:10 GMT"})
    assert error_for_response(date, now_ms=1_767_225_600_000).retry_after_ms == 10_000


def test_an_error_without_an_envelope_still_maps() -> None:
    error = error_for_response(HttpResponse(502, {}, b"<html>bad gateway</html>"))
    assert error.retryable and error.code == "http_error"


def test_batches_stay_under_500_events_and_1_mib() -> None:
    small = [progressed(f"e{n}", at(1), "x", "completed") for n in range(1001)]
    assert [len(b) for b in batch_events(small)] == [500, 500, 1]
    big = [
        progressed(f"b{n}", at(1), "x" * 128, "completed", version="v" * 128) for n in range(3000)
    ]
    batches = batch_events(big, max_events=10_000)
    assert sum(len(b) for b in batches) == 3000 and len(batches) > 1
    for batch in batches:
        assert len(put_body(batch, at(1))) <= MAX_BATCH_BYTES


def test_put_sends_the_bearer_token_and_only_client_updated_at_and_events() -> None:
    seen: list[tuple[str, Mapping[str, str], bytes | None]] = []

    def handler(
        method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        seen.append((url, headers, body))
        return json_response(200, {"ok": True})

    api = ApiClient(FakeTransport(handler), "http://api.test/api/v1/")
    drive(api.put_progress("tok", [progressed("e1", at(1), "x", "completed")], at(2)))
    url, headers, body = seen[0]
    assert url == "http://api.test/api/v1/learning/progress"
    assert headers["Authorization"] == "Bearer tok"
    assert body is not None and set(json.loads(body)) == {"clientUpdatedAt", "events"}


def test_pull_follows_has_more() -> None:
    server = FakeServer(page_limit=2)
    server.events["u1"] = [
        progressed(f"e{n}", at(1), "x", "completed").model_dump(mode="json", by_alias=True)
        for n in range(5)
    ]
    api = ApiClient(FakeTransport(server))
    result = drive(api.pull("token-u1"))
    assert [e.event_id for e in result.events] == [f"e{n}" for n in range(5)]
    assert result.cursor == "5" and len(server.gets()) == 3
    assert "since" not in server.gets()[0].url and "since=2" in server.gets()[1].url


def test_an_answer_that_is_not_the_contract_is_a_retryable_error() -> None:
    api = ApiClient(FakeTransport(lambda *a: json_response(200, {"ok": True, "data": 1})))
    with pytest.raises(ApiError) as info:
        drive(api.get_progress("t"))
    assert info.value.retryable and info.value.code == "invalid_response"


def test_login_returns_a_session() -> None:
    def handler(
        method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> HttpResponse:
        assert url.endswith("/api/v1/auth/login") and body is not None
        assert json.loads(body) == {"email": "a@b.c", "password": "pw"}
        data = {"token": "t", "userId": "u9", "expiresAt": "2030-01-01T00:00:00Z"}
        return json_response(200, {"ok": True, "data": data})

    session = drive(ApiClient(FakeTransport(handler)).login("a@b.c", "pw"))
    assert (session.user_id, session.token) == ("u9", "t")
