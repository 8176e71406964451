"""The API's JSON answers: bodies sent with ``Cache-Control: no-store``, the error envelope,
and the exception handlers that turn every failure into that envelope.

Every refusal answers ``{ok: false, error: {code, message, details?}}`` with its status; an
unexpected failure answers 500 ``internal_error`` and never a stack trace.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from .errors import ApiError

__all__ = ["EXCEPTION_HANDLERS", "error_response", "json_response"]

_API_HEADERS = {"Cache-Control": "no-store"}
#: The code of a refusal Starlette raises itself (an unknown path, a wrong method, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def json_response(
    body: str | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**_API_HEADERS, **(headers or {})},
    )


def error_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    text = json.dumps({"ok": False, "error": body}, separators=(",", ":"), default=str)
    return json_response(text, error.status, error.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(ApiError(exc.status_code, code, message, headers=headers))


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(500, "internal_error", "internal server error"))


#: Starlette's ``exception_handlers``: our refusals, Starlette's own, and anything unexpected.
EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    ApiError: _api_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}
