"""The OpenAPI 3.1 document, published at ``/api/v1/openapi.json``.

Schemas are generated from the very pydantic models that validate requests and shape
responses (pyclient's for progress), so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from pyclient.core.limits import MAX_BODY_BYTES, MAX_EVENTS_PER_PUT
from pyclient.core.models import ErrorEnvelope, GetProgressResponse, OkResponse, PutProgressRequest

from .api_models import HealthResponse, LoginRequest, LoginResponse
from .cursor import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT
from .request_body import LOGIN_MAX_BODY

__all__ = ["build_openapi"]

_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (PutProgressRequest, "validation"),
    (LoginRequest, "validation"),
    (GetProgressResponse, "serialization"),
    (OkResponse, "serialization"),
    (LoginResponse, "serialization"),
    (HealthResponse, "serialization"),
    (ErrorEnvelope, "serialization"),
]

_ERROR_TEXT = {
    400: "Malformed JSON or an invalid cursor",
    401: "Missing, malformed, expired or wrongly signed token, or wrong credentials",
    403: "quota_exceeded: the user's log would grow past its quota (events or bytes); "
    "nothing of the request was stored",
    404: "Not found",
    405: "Method not allowed",
    413: f"More than {MAX_EVENTS_PER_PUT} events or {MAX_BODY_BYTES // (1024 * 1024)} MiB",
    415: "The body is not application/json",
    422: "The body or a parameter does not match the contract",
    429: "rate_limited: too many login attempts (for the account or the client address) or "
    "too many PUTs by this user; try again after Retry-After seconds",
    500: "Internal error (never a stack trace)",
    503: "jwks_unavailable: the token's key is not known and the identity provider's keys "
    "cannot be fetched now; try again after Retry-After seconds",
}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def _errors(refs: dict[str, str], statuses: list[int]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": _ERROR_TEXT[status],
            "content": _json(refs["ErrorEnvelope"]),
        }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"required": True, "schema": {"type": "string"}}
            }
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {
                    "required": True,
                    "description": "Seconds to wait before the next attempt",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        responses[str(status)] = response
    responses["default"] = {"description": "Error", "content": _json(refs["ErrorEnvelope"])}
    return responses


def _probes(refs: dict[str, str]) -> dict[str, Any]:
    """Liveness (the process answers) and readiness (the database and its schema)."""

    def status(value: str, ready: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"status": {"const": value}}
        if ready:
            data["schemaVersion"] = {"type": "integer"}
        return {
            "type": "object",
            "required": ["ok", "data"],
            "properties": {
                "ok": {"const": True},
                "data": {"type": "object", "required": list(data), "properties": data},
            },
        }

    def probe(name: str, summary: str, ready: bool) -> dict[str, Any]:
        responses: dict[str, Any] = {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": status(name, ready)}},
            },
            **_errors(refs, [404, 405]),
        }
        if ready:
            responses["503"] = {
                "description": "not_ready: the database cannot be reached or its schema "
                "version is not this server's",
                "content": _json(refs["ErrorEnvelope"]),
            }
        return {"get": {"operationId": name, "summary": summary, "security": [],
                        "responses": responses}}  # fmt: skip

    return {
        "/api/v1/health/live": probe("live", "Liveness: the process answers", False),
        "/api/v1/health/ready": probe(
            "ready", "Readiness: the database answers with this server's schema", True
        ),
    }


def build_openapi() -> dict[str, Any]:
    mapping, definitions = models_json_schema(_MODELS, ref_template="#/components/schemas/{model}")
    refs = {model.__name__: mapping[(model, mode)]["$ref"] for model, mode in _MODELS}
    bearer: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    progress_errors = [400, 401, 404, 405, 413, 415, 422, 429, 500, 503]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Learning progress sync API",
            "version": "1.0.0",
            "description": "Event-sourced learning progress: push events, pull events and the "
            "snapshot. Errors answer {ok: false, error: {code, message, details?}}.",
        },
        "paths": {
            "/api/v1/learning/progress": {
                "get": {
                    "operationId": "getProgress",
                    "summary": "The snapshot and the events stored after a cursor",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "description": "An opaque cursor from an earlier response",
                            "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_LIMIT,
                                "default": DEFAULT_LIMIT,
                            },
                        },
                    ],
                    "responses": {
                        "200": {"description": "OK", "content": _json(refs["GetProgressResponse"])},
                        **_errors(refs, progress_errors),
                    },
                },
                "put": {
                    "operationId": "putProgress",
                    "summary": "Store events (idempotent by eventId, one transaction)",
                    "security": bearer,
                    "requestBody": {"required": True, "content": _json(refs["PutProgressRequest"])},
                    "responses": {
                        "200": {"description": "OK", "content": _json(refs["OkResponse"])},
                        **_errors(refs, sorted([403, *progress_errors])),
                    },
                },
            },
            "/api/v1/auth/login": {
                "post": {
                    "operationId": "login",
                    "summary": "Exchange email and password for a bearer token",
                    "security": [],
                    "requestBody": {"required": True, "content": _json(refs["LoginRequest"])},
                    "responses": {
                        "200": {"description": "OK", "content": _json(refs["LoginResponse"])},
                        **_errors(refs, [400, 401, 404, 405, 413, 415, 422, 429, 500]),
                        "413": {
                            "description": f"A login body over {LOGIN_MAX_BODY // 1024} KiB",
                            "content": _json(refs["ErrorEnvelope"]),
                        },
                    },
                },
            },
            "/api/v1/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness and database reachability",
                    "security": [],
                    "responses": {
                        "200": {"description": "OK", "content": _json(refs["HealthResponse"])},
                        **_errors(refs, [404, 405, 500]),
                    },
                },
            },
            **_probes(refs),
        },
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
