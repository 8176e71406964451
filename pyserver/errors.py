"""Errors of pyserver: one base class; each carries the HTTP status and code it answers with.

ServerError                  base of everything pyserver raises on purpose
├── ApiError                 a request the API refuses: status, code, message, details
│   └── Unauthorized         401, answered with ``WWW-Authenticate: Bearer``
├── StorageError             the database is unusable or its URL is wrong: our side (500)
└── ConfigError              the environment is unusable (e.g. a too short JWT secret)
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "ConfigError", "ServerError", "StorageError", "Unauthorized"]


class ServerError(Exception):
    """Base class of pyserver's own errors."""


class ApiError(ServerError):
    """A refused request: answered as ``{ok: false, error: {code, message, details?}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class Unauthorized(ApiError):
    """Missing, malformed, expired or wrongly signed credentials (401)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(401, code, message, headers={"WWW-Authenticate": "Bearer"})


class StorageError(ServerError):
    """The database cannot be opened, migrated or used."""


class ConfigError(ServerError):
    """The configuration (environment, data directory) cannot be used."""
