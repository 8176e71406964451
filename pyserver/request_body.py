"""Reading a JSON request body within the API's limits, and validating it into a model.

A body must be ``application/json`` (else 415) and at most ``MAX_BODY_BYTES`` (413
``body_too_large``, checked on ``Content-Length`` and again while reading). A body that does
not validate is refused: not JSON is 400 ``invalid_json``, more than ``MAX_EVENTS_PER_PUT``
events is 413 ``too_many_events``, anything else is 422 ``validation_error`` with ``details``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from pyclient.core.limits import MAX_BODY_BYTES, MAX_EVENTS_PER_PUT

from .errors import ApiError

__all__ = ["parse_body", "read_json_body"]

#: At most this many validation errors are listed in a 422's ``details``.
_MAX_DETAILS = 50


async def read_json_body(request: Request) -> bytes:
    """The bytes of a JSON body; 415 if it is not JSON, 413 if it is over the limit."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "the body must be application/json")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _body_too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _body_too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body[M: BaseModel](model: type[M], body: bytes) -> M:
    """``body`` validated straight from its JSON bytes into ``model``, or the refusal."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _refusal(exc) from None


def _body_too_large() -> ApiError:
    return ApiError(413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")


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
