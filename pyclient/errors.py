"""Exceptions of pyclient: one base class, split by whose fault it is.

ProgressError                base of everything pyclient raises on purpose
├── InvalidEventsError       the input (a log, a request body) is not valid: the caller's fault
├── StorageFullError         the device: local storage refused a write (quota)
├── NetworkError             the network: offline, unreachable, the connection dropped (retryable)
└── ApiError                 the server answered with an error (status, code, retryable?)
    └── SessionExpiredError  401: the token is missing, expired or rejected; sign in again
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "InvalidEventsError",
    "NetworkError",
    "ProgressError",
    "SessionExpiredError",
    "StorageFullError",
]


class ProgressError(Exception):
    """Base class of pyclient's own errors."""


class InvalidEventsError(ProgressError, ValueError):
    """Events that do not match the contract. ``errors`` lists each problem with its location."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


class StorageFullError(ProgressError):
    """Local storage refused a write (the browser's ``QuotaExceededError``); nothing was written."""


class NetworkError(ProgressError):
    """No answer from the server: offline, unreachable, or the connection dropped. Retryable."""


class ApiError(ProgressError):
    """The server answered with an error envelope (or something that is not the contract).

    ``retryable`` says whether the same request may succeed later (408, 429, 5xx);
    ``retry_after_ms`` is the server's ``Retry-After``, when it sent one.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retryable: bool,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after_ms = retry_after_ms


class SessionExpiredError(ApiError):
    """401: the session is over; the user has to sign in again. Never retried automatically."""

    def __init__(self, code: str = "unauthorized", message: str = "session expired") -> None:
        super().__init__(401, code, message, retryable=False)
