"""Reading a JSON request body within the API's limits, and validating it into a model.

A body must be ``application/json`` (else 415) and at most ``MAX_BODY_BYTES`` (413
``body_too_large``, checked on ``Content-Length`` and again while reading), and it must arrive
within ``BODY_TIMEOUT`` seconds (else 408 ``request_timeout``: a stalled upload does not hold a
connection). A body that does not validate is refused: not strict JSON is 400
``invalid_json``, more than ``MAX_EVENTS_PER_PUT`` events is 413 ``too_many_events``, anything
else is 422 ``validation_error`` with ``details``.

Strict JSON (RFC 8259, and I-JSON's RFC 7493 rules): no ``NaN``/``Infinity`` (nor a number too
large for a double), no duplicate keys in an object, no lone surrogates (escaped or encoded) in
a string or key, anywhere in the body, unknown fields included. The pydantic parser accepts the
first two (last key wins), so ``strict_json`` checks the body before it is validated.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from pyclient.core.limits import MAX_BODY_BYTES, MAX_EVENTS_PER_PUT

from .errors import ApiError

__all__ = [
    "BODY_TIMEOUT",
    "LOGIN_MAX_BODY",
    "InvalidJson",
    "is_ascii_digits",
    "parse_body",
    "read_json_body",
    "strict_json",
]

#: At most this many validation errors are listed in a 422's ``details``.
_MAX_DETAILS = 50
#: Seconds a whole body may take to arrive (1 MiB in 30 s is about 35 KB/s); the app's
#: ``state.body_timeout``, when set, overrides it.
BODY_TIMEOUT = 30.0
_CLOSE = {"Connection": "close"}


class InvalidJson(ValueError):
    """The body is not strict JSON."""


#: A login body is an email and a password: 16 KiB is plenty, and keeps what is parsed on the
#: event loop (login bodies are small, so they are not handed to a thread) small.
LOGIN_MAX_BODY = 16 * 1024


async def read_json_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The bytes of a JSON body; 415 if it is not JSON, 413 if it is over ``limit`` bytes, 408
    if it does not arrive in time. A client that goes away raises ``ClientDisconnect``."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "the body must be application/json")
    length = request.headers.get("content-length")
    if length is not None and is_ascii_digits(length) and int(length) > limit:
        raise _body_too_large(limit)
    timeout = _body_timeout(request)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _body_too_large(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise ApiError(
            408, "request_timeout", f"the body did not arrive within {timeout:g} s", headers=_CLOSE
        ) from None
    return b"".join(chunks)


def is_ascii_digits(text: str) -> bool:
    """Whether ``text`` is a non-empty run of ASCII digits (``str.isdigit`` also accepts
    ``²``, ``٣`` and the like, which ``int`` refuses or reads as other digits)."""
    return text.isascii() and text.isdigit()


def _body_timeout(request: Request) -> float:
    app = request.scope.get("app")
    state = getattr(app, "state", None)
    return float(getattr(state, "body_timeout", None) or BODY_TIMEOUT)


def parse_body[M: BaseModel](model: type[M], body: bytes) -> M:
    """``body`` checked as strict JSON and validated from its bytes into ``model``, or the
    refusal."""
    try:
        strict_json(body)
    except InvalidJson as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _refusal(exc) from None


def strict_json(body: bytes) -> None:
    """Raise :class:`InvalidJson` unless ``body`` is strict JSON (see the module's text)."""
    try:
        text = body.decode("utf-8")  # strict: encoded surrogates and bad bytes are refused
    except UnicodeDecodeError:
        raise InvalidJson("not UTF-8") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_float,
        )
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson("nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and an integer of too many digits
        raise InvalidJson(str(exc).split(":", 1)[0]) from None
    _check_strings(value)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise InvalidJson("duplicate key in an object")
    return result


def _constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson("a number too large for a double")
    return value


def _check_strings(value: Any) -> None:
    """No string or key holds a surrogate (an escaped lone one: ``"\\ud800"``)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_string(item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check_string(key)
                if isinstance(inner, str):
                    _check_string(inner)
                elif isinstance(inner, (dict, list)):
                    stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def _check_string(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJson("a lone surrogate in a string") from None


def _body_too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body must be at most {limit} bytes")


def _refusal(exc: ValidationError) -> ApiError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return ApiError(400, "invalid_json", "the body is not valid JSON")
    if any(e["type"] == "too_long" and tuple(e["loc"]) == ("events",) for e in errors):
        return ApiError(413, "too_many_events", f"at most {MAX_EVENTS_PER_PUT} events per request")
    details: list[dict[str, Any]] = [
        {"loc": list(e["loc"]), "type": e["type"], "msg": e["msg"]} for e in errors
    ][:_MAX_DETAILS]
    return ApiError(422, "validation_error", "the body does not match the contract", details)
