"""Exceptions of pyclient: one base class, split by whose fault it is.

ProgressError                base of everything pyclient raises on purpose
└── InvalidEventsError       the input (a log, a request body) is not valid: the caller's fault
"""

from __future__ import annotations

from typing import Any

__all__ = ["InvalidEventsError", "ProgressError"]


class ProgressError(Exception):
    """Base class of pyclient's own errors."""


class InvalidEventsError(ProgressError, ValueError):
    """Events that do not match the contract. ``errors`` lists each problem with its location."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors
