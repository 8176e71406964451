"""Strict input: numbers in the query are ASCII digits, a token's subject is a storable
userId, and a request body is strict JSON (no NaN/Infinity, no duplicate keys, no lone
surrogates, anywhere in it); a score of -0.0 is stored and echoed as 0.0.

Refusals happen before storage is touched, so these run on SQLite only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyclient.core.models import ErrorEnvelope
from pyserver import create_user
from pyserver.request_body import InvalidJson, strict_json

from .conftest import SECRET, LiveServer, auth
from .events import at, progressed, put_body

PROGRESS = "/api/v1/learning/progress"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'strict.sqlite3'}"


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    envelope = ErrorEnvelope.model_validate_json(response.content)
    assert envelope.error.code == code
    return dict(response.json()["error"])


def _put(server: LiveServer, content: bytes, user: str = "u") -> httpx.Response:
    headers = {**auth(user), "Content-Type": "application/json"}
    return server.client.put(PROGRESS, content=content, headers=headers)


def _valid_text(**extra: Any) -> str:
    return json.dumps(put_body([progressed("e1", score=50)], **extra))


# --------------------------------------------------------------------------- query numbers


@pytest.mark.parametrize(
    "limit",
    [
        "²",  # str.isdigit() is true, int() refuses it
        "٣",  # an Arabic-Indic digit: int() reads it as 3
        "\uff11\uff10",  # full-width digits
        "1" * 5000,  # more digits than int() converts
        "0010000",
        " 10",
        "+10",
        "1_0",
    ],
)
def test_limit_takes_ascii_digits_only(server: LiveServer, limit: str) -> None:
    response = server.client.get(PROGRESS, params={"limit": limit}, headers=auth("u"))
    _refused(response, 422, "validation_error")


def test_a_limit_of_ascii_digits_is_accepted(server: LiveServer) -> None:
    response = server.client.get(PROGRESS, params={"limit": "0005"}, headers=auth("u"))
    assert response.status_code == 200, response.text


# --------------------------------------------------------------------------- token subject


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _token_with_subject(sub: str) -> str:
    """An HS256 token signed with the server's secret whose ``sub`` is ``sub`` as JSON writes
    it (a lone surrogate as an escape): what any JWT library makes of such a string."""
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    claims = _b64(json.dumps({"sub": sub, "exp": int(time.time()) + 600}).encode())
    signature = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256)
    return f"{header}.{claims}.{_b64(signature.digest())}"


@pytest.mark.parametrize("sub", ["\ud800", "a\udfffb", "\udc00\ud800"])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_subject_with_a_lone_surrogate_is_401(server: LiveServer, sub: str, method: str) -> None:
    headers = {
        "Authorization": f"Bearer {_token_with_subject(sub)}",
        "Content-Type": "application/json",
    }
    content = _valid_text().encode() if method == "PUT" else None
    response = server.client.request(method, PROGRESS, headers=headers, content=content)
    _refused(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_subject_with_a_surrogate_pair_is_a_user(server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {_token_with_subject('learner-😀')}"}
    assert server.client.get(PROGRESS, headers=headers).status_code == 200


# --------------------------------------------------------------------------- bodies

CLIENT_AT = at(0)
EVENT = (
    '{"eventId":"e1","occurredAt":"%s","clientId":"c","type":"content.progressed",'
    '"payload":{"contentId":"lesson-1","status":"completed","score":%s}}'
)


def _body(events: str = "", extra: str = "") -> bytes:
    return (
        '{"clientUpdatedAt":"' + CLIENT_AT + '","events":[' + events + "]" + extra + "}"
    ).encode()


REFUSED_BODIES = {
    # NaN and infinities, as literals or as numbers too large for a double
    "nan-in-an-unknown-top-level-field": _body(extra=',"x":NaN'),
    "infinity-in-an-unknown-top-level-field": _body(extra=',"x":Infinity'),
    "minus-infinity-nested": _body(extra=',"x":{"y":[1,-Infinity]}'),
    "huge-number": _body(extra=',"x":1e400'),
    "nan-score": _body(EVENT % (CLIENT_AT, "NaN")),
    "infinite-score": _body(EVENT % (CLIENT_AT, "1e999")),
    # duplicate keys, wherever they are
    "duplicate-top-level-key": _body(extra=',"events":[]'),
    "duplicate-key-in-an-event": _body(
        EVENT.replace('"clientId":"c"', '"clientId":"c","clientId":"d"') % (CLIENT_AT, "1")
    ),
    "duplicate-key-in-a-payload": _body(
        EVENT.replace('"status":"completed"', '"status":"completed","status":"passed"')
        % (CLIENT_AT, "1")
    ),
    "duplicate-key-in-an-unknown-field": _body(extra=',"x":{"a":1,"a":1}'),
    # lone surrogates, escaped or encoded, in values and keys
    "lone-high-surrogate-in-a-value": _body(extra=',"x":"\\ud800"'),
    "lone-low-surrogate-in-a-value": _body(extra=',"x":["ok","a\\udc00b"]'),
    "reversed-pair": _body(extra=',"x":"\\udc00\\ud800"'),
    "lone-surrogate-in-a-key": _body(extra=',"\\ud800":1'),
    "lone-surrogate-in-an-event-id": _body(
        EVENT.replace('"eventId":"e1"', '"eventId":"e\\udbff"') % (CLIENT_AT, "1")
    ),
    "encoded-surrogate-bytes": _body()[:-1] + b',"x":"\xed\xa0\x80"}',
    "not-utf-8": _body()[:-1] + b',"x":"\xff"}',
    # plain syntax errors and what the pydantic parser tolerates
    "deeply-nested": _body(extra=',"x":' + "[" * 100_000 + "]" * 100_000),
    "trailing-garbage": _body() + b"x",
}


@pytest.mark.parametrize("body", list(REFUSED_BODIES.values()), ids=list(REFUSED_BODIES))
def test_a_body_that_is_not_strict_json_is_400(server: LiveServer, body: bytes) -> None:
    error = _refused(_put(server, body), 400, "invalid_json")
    assert "details" not in error
    assert server.storage.last_position("u") == 0


def test_strict_bodies_are_accepted(server: LiveServer) -> None:
    pair = json.dumps("learner 😀")  # escaped as a surrogate pair: one character
    body = _body(EVENT % (CLIENT_AT, "42.5"), extra=f',"note":{pair},"backslash":"\\\\ud800"')
    assert _put(server, body).status_code == 200, _put(server, body).text
    assert server.storage.last_position("u") == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"email":"a@b.c","password":"p","password":"q"}',
        b'{"email":"a@b.c","password":"p","x":NaN}',
        b'{"email":"a@b.c","password":"\\ud800"}',
    ],
    ids=["duplicate-key", "nan", "lone-surrogate"],
)
def test_a_login_body_that_is_not_strict_json_is_400(server: LiveServer, body: bytes) -> None:
    create_user(server.storage, "a@b.c", "p")
    response = server.client.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
    _refused(response, 400, "invalid_json")


def test_strict_json_unit() -> None:
    strict_json(b'{"a":[1,2.5,-0.0,"\\ud83d\\ude00","\\\\ud800",null,true]}')
    for bad in [b"[NaN]", b'{"a":1,"a":1}', b'["\\ud800"]', b"[1e309]", b"[", b"\xff"]:
        with pytest.raises(InvalidJson):
            strict_json(bad)


# --------------------------------------------------------------------------- -0.0


@pytest.mark.parametrize("score", ["-0.0", "-0", "-0e5", "-0.000"])
def test_a_negative_zero_score_is_stored_and_echoed_as_zero(server: LiveServer, score: str) -> None:
    response = _put(server, _body(EVENT % (CLIENT_AT, score)))
    assert response.status_code == 200, response.text
    text = server.client.get(PROGRESS, headers=auth("u")).text
    assert '"score":-' not in text
    data = json.loads(text)["data"]
    stored = data["events"][0]["payload"]["score"]
    assert stored == 0 and str(stored) in ("0", "0.0")
    assert data["snapshot"]["content"]["lesson-1"]["score"] == stored
