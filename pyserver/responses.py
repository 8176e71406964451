"""The API's JSON answers: bodies sent with ``Cache-Control: no-store``, the error envelope,
and the exception handlers that turn every failure into that envelope.

Every refusal answers ``{ok: false, error: {code, message, details?}}`` with its status; an
unexpected failure answers 500 ``internal_error`` and never a stack trace. A client that went
away before its request was read is one line in the log (logger ``pyserver``), not a traceback:
that happens all the time (a closed tab, a lost network) and is no fault of the server.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from .errors import ApiError

__all__ = ["EXCEPTION_HANDLERS", "error_response", "json_response"]

_API_HEADERS = {"Cache-Control": "no-store"}
_LOG = logging.getLogger("pyserver")
#: The code of a refusal Starlette raises itself (an unknown path, a wrong method, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
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


async def _client_gone(request: Request, exc: Exception) -> Response:
    client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
    _LOG.warning(
        "%s disconnected before its request was read: %s %s",
        client,
        request.method,
        request.url.path,
    )
    # Nobody reads this; uvicorn drops what is sent on a closed connection.
    return error_response(ApiError(400, "client_disconnected", "the client went away"))


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(500, "internal_error", "internal server error"))


#: Starlette's ``exception_handlers``: our refusals, Starlette's own, and anything unexpected.
EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    ApiError: _api_error,
    HTTPException: _http_error,
    ClientDisconnect: _client_gone,
    Exception: _internal_error,
}
