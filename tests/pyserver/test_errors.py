"""Every refusal answers the envelope {ok: false, error: {code, message, details?}}.

Refusals happen before storage is touched, so these run on SQLite only; the storage,
progress and concurrency suites run on both backends.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from pyclient.core.models import ErrorEnvelope
from pyserver import create_user
from pyserver.login_limits import account_key

from .conftest import SECRET, LiveServer, auth, token_for
from .events import many, progressed, put_body

PROGRESS = "/api/v1/learning/progress"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'errors.sqlite3'}"


LOGIN = "/api/v1/auth/login"


def _refused(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    envelope = ErrorEnvelope.model_validate_json(response.content)  # exactly the envelope
    assert "Traceback" not in response.text
    if code is not None:
        assert envelope.error.code == code
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return dict(response.json()["error"])


def _put_raw(server: LiveServer, content: bytes, content_type: str = "application/json",
             user: str = "u") -> httpx.Response:  # fmt: skip
    headers = {**auth(user), "Content-Type": content_type}
    return server.client.put(PROGRESS, content=content, headers=headers)


# --------------------------------------------------------------------------- bodies


def test_malformed_json_is_400(server: LiveServer) -> None:
    _refused(_put_raw(server, b'{"events": ['), 400, "invalid_json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(server: LiveServer, content_type: str) -> None:
    body = json.dumps(put_body([progressed("e")])).encode()
    _refused(_put_raw(server, body, content_type), 415, "unsupported_media_type")


def test_json_with_a_charset_is_accepted(server: LiveServer) -> None:
    body = json.dumps(put_body([progressed("e")])).encode()
    assert _put_raw(server, body, "application/json; charset=utf-8").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({"events": []}, id="missing-clientUpdatedAt"),
        pytest.param({"clientUpdatedAt": "yesterday", "events": []}, id="bad-timestamp"),
        pytest.param(put_body([{**progressed("e"), "extra": 1}]), id="unknown-event-field"),
        pytest.param(put_body([progressed("e", foo=1)]), id="unknown-payload-field"),
        pytest.param(put_body([progressed("e", score=101)]), id="score-above-100"),
        pytest.param(put_body([progressed("e", score=-1)]), id="score-below-0"),
        pytest.param(put_body([progressed("e", score="9")]), id="score-not-a-number"),
        pytest.param(put_body([progressed("e" * 129)]), id="event-id-too-long"),
        pytest.param(put_body([progressed("")]), id="event-id-empty"),
        pytest.param(put_body([progressed("e", status="done")]), id="unknown-status"),
        pytest.param(
            put_body([{**progressed("e"), "occurredAt": "2025-13-01T00:00:00.000Z"}]),
            id="month-13",
        ),
        pytest.param(
            put_body([{**progressed("e"), "type": "content.deleted"}]), id="unknown-event-type"
        ),
        pytest.param(put_body([{"eventId": "e"}]), id="incomplete-event"),
    ],
)
def test_a_body_outside_the_contract_is_422(server: LiveServer, body: Any) -> None:
    error = _refused(_put_raw(server, json.dumps(body).encode()), 422, "validation_error")
    assert error["details"]
    assert server.client.get(PROGRESS, headers=auth("u")).json()["data"]["events"] == []


def test_a_rejected_batch_stores_none_of_its_events(server: LiveServer) -> None:
    events = [*many("ok", 5), progressed("bad", score=500)]
    _refused(_put_raw(server, json.dumps(put_body(events)).encode()), 422)
    assert server.client.get(PROGRESS, headers=auth("u")).json()["data"]["events"] == []


def test_more_than_500_events_is_413(server: LiveServer) -> None:
    body = json.dumps(put_body(many("e", 501))).encode()
    _refused(_put_raw(server, body), 413, "too_many_events")
    assert _put_raw(server, json.dumps(put_body(many("e", 500))).encode()).status_code == 200


def test_a_body_over_one_mebibyte_is_413(server: LiveServer) -> None:
    body = json.dumps(put_body([progressed("e")], padding="x" * (1024 * 1024))).encode()
    _refused(_put_raw(server, body), 413, "body_too_large")


def test_a_streamed_body_over_one_mebibyte_is_413(server: LiveServer) -> None:
    def chunks() -> Any:
        for _ in range(20):
            yield b" " * 65536

    headers = {**auth("u"), "Content-Type": "application/json"}
    response = server.client.put(PROGRESS, content=chunks(), headers=headers)
    _refused(response, 413, "body_too_large")


def test_a_login_body_over_16_kib_is_413_before_any_password_check(server: LiveServer) -> None:
    body = {"email": "a@example.com", "password": "x" * (16 * 1024)}
    response = server.client.post("/api/v1/auth/login", json=body)
    _refused(response, 413, "body_too_large")
    assert server.storage.login_counter(account_key("a@example.com")) is None  # not counted
    small = server.client.post("/api/v1/auth/login", json={**body, "password": "x" * 1000})
    _refused(small, 401, "invalid_credentials")


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "MQ", "!!!", "x" * 500, "MS5BQUFBQUFBQUFBQUFBQUFB", "é"],
)
def test_a_bad_cursor_is_400(server: LiveServer, cursor: str) -> None:
    response = server.client.get(PROGRESS, params={"since": cursor}, headers=auth("u"))
    _refused(response, 400, "invalid_cursor")


def test_a_cursor_beyond_the_log_is_400(server: LiveServer) -> None:
    api = server.app.state.api
    response = server.client.get(
        PROGRESS, params={"since": api.cursors.encode("u", 5)}, headers=auth("u")
    )
    _refused(response, 400, "invalid_cursor")


@pytest.mark.parametrize("limit", ["0", "5001", "-1", "ten", "1.5"])
def test_a_limit_out_of_bounds_is_422(server: LiveServer, limit: str) -> None:
    response = server.client.get(PROGRESS, params={"limit": limit}, headers=auth("u"))
    _refused(response, 422, "validation_error")


def test_an_unknown_query_parameter_is_422(server: LiveServer) -> None:
    response = server.client.get(PROGRESS, params={"after": "x"}, headers=auth("u"))
    _refused(response, 422, "validation_error")


# --------------------------------------------------------------------------- tokens


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(**override: Any) -> dict[str, Any]:
    return {"sub": "u", "exp": int(time.time()) + 600, **override}


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "missing_token", id="missing"),
        pytest.param("", "missing_token", id="empty"),
        pytest.param("Bearer", "invalid_token", id="no-token"),
        pytest.param("Basic dTpw", "invalid_token", id="wrong-scheme"),
        pytest.param("Bearer garbage", "invalid_token", id="garbage"),
        pytest.param(
            "Bearer " + jwt.encode(_claims(), "another-secret-" + "y" * 40, "HS256"),
            "invalid_token",
            id="wrongly-signed",
        ),
        pytest.param(
            "Bearer " + jwt.encode(_claims(exp=int(time.time()) - 60), SECRET, "HS256"),
            "token_expired",
            id="expired",
        ),
        pytest.param(
            f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.",
            "invalid_token",
            id="alg-none",
        ),
        pytest.param(
            "Bearer " + jwt.encode(_claims(), SECRET, "HS512"), "invalid_token", id="alg-HS512"
        ),
        pytest.param(
            "Bearer " + jwt.encode({"sub": "u"}, SECRET, "HS256"), "invalid_token", id="no-exp"
        ),
        pytest.param(
            "Bearer " + jwt.encode({"exp": int(time.time()) + 60}, SECRET, "HS256"),
            "invalid_token",
            id="no-sub",
        ),
        pytest.param(
            "Bearer " + jwt.encode(_claims(sub=""), SECRET, "HS256"),
            "invalid_token",
            id="empty-sub",
        ),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_bad_token_is_401_with_www_authenticate(
    server: LiveServer, authorization: str | None, code: str, method: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    body = json.dumps(put_body([progressed("e")])).encode()
    response = server.client.request(
        method,
        PROGRESS,
        headers={**headers, "Content-Type": "application/json"},
        content=body if method == "PUT" else None,
    )
    _refused(response, 401, code)
    assert server.storage.last_position("u") == 0


def test_a_valid_token_is_accepted(server: LiveServer) -> None:
    headers = {"Authorization": f"bearer {token_for('u')}"}
    assert server.client.get(PROGRESS, headers=headers).status_code == 200


# --------------------------------------------------------------------------- login


def test_login_returns_a_token_for_the_user(server: LiveServer) -> None:
    user_id = create_user(server.storage, "Ada@Example.com", "correct horse")
    response = server.client.post(
        LOGIN, json={"email": "ada@example.com", "password": "correct horse"}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["userId"] == user_id
    assert data["expiresAt"].endswith("Z")
    headers = {"Authorization": f"Bearer {data['token']}"}
    assert server.client.get(PROGRESS, headers=headers).status_code == 200


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
def test_a_wrong_password_or_unknown_email_is_401(server: LiveServer, email: str) -> None:
    create_user(server.storage, "ada@example.com", "correct horse")
    response = server.client.post(LOGIN, json={"email": email, "password": "wrong"})
    _refused(response, 401, "invalid_credentials")


def test_repeated_failed_logins_are_throttled_with_429(server: LiveServer) -> None:
    create_user(server.storage, "ada@example.com", "correct horse")
    body = {"email": "ada@example.com", "password": "wrong"}
    for _ in range(10):
        _refused(server.client.post(LOGIN, json=body), 401)
    response = server.client.post(LOGIN, json={**body, "password": "correct horse"})
    _refused(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@b.c"},
        {"email": "a@b.c", "password": "p", "x": 1},
        {"email": 1, "password": "p"},
    ],
)
def test_a_login_body_outside_the_contract_is_422(server: LiveServer, body: Any) -> None:
    _refused(server.client.post(LOGIN, json=body), 422, "validation_error")


# --------------------------------------------------------------------------- routing


def test_an_unknown_path_is_404(server: LiveServer) -> None:
    _refused(server.client.get("/api/v1/nothing"), 404, "not_found")


def test_a_wrong_method_is_405(server: LiveServer) -> None:
    response = server.client.delete(PROGRESS, headers=auth("u"))
    _refused(response, 405, "method_not_allowed")
    _refused(server.client.get(LOGIN), 405, "method_not_allowed")


def test_an_unexpected_failure_is_500_without_a_stack_trace(server: LiveServer) -> None:
    def broken(user_id: str) -> int:
        raise RuntimeError("secret internals")

    server.storage.last_position = broken  # type: ignore[method-assign]
    response = server.client.get(PROGRESS, headers=auth("u"))
    error = _refused(response, 500, "internal_error")
    assert "secret internals" not in response.text
    assert error["message"] == "internal server error"
