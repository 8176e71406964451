"""Timestamps: RFC 3339 validation, instants for ordering, and the snapshot's UTC format.

Events are ordered by the instant they name, never by string comparison. An instant is an
integer count of microseconds since the Unix epoch (finer digits are truncated). The snapshot
writes every timestamp in UTC with exactly three fractional digits and ``Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final

__all__ = [
    "LATEST_MS",
    "RFC3339_PATTERN",
    "epoch_day",
    "format_day",
    "format_instant",
    "instant_of",
    "normalize_timestamp",
    "parse_day",
]

#: The shape of an RFC 3339 date-time with an offset (``Z`` or ``±hh:mm``).
RFC3339_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?P<fraction>\.[0-9]{1,9})?(?P<offset>[Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_RFC3339 = re.compile(RFC3339_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_MIN_INSTANT = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _ONE_US
_MAX_INSTANT = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _ONE_US


@lru_cache(maxsize=1 << 17)
def instant_of(value: str) -> int:
    """Microseconds since the epoch for an RFC 3339 timestamp; ``ValueError`` if it is not one."""
    match = _RFC3339.match(value)
    if match is None:
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, e.g. 2025-12-22T20:36:50.595Z"
        )
    if len(value) == 24 and value[10] == "T" and value[23] == "Z":  # the form clients write
        text = value
    else:
        fraction, offset = match.group("fraction"), match.group("offset").upper()
        micros = fraction[1:7].ljust(6, "0") if fraction else "000000"
        text = f"{value[:10]}T{value[11:19]}.{micros}{'+00:00' if offset == 'Z' else offset}"
    try:
        instant = (datetime.fromisoformat(text) - _EPOCH) // _ONE_US
    except ValueError as exc:
        raise ValueError(f"not a valid date-time: {exc}") from None
    if not _MIN_INSTANT <= instant <= _MAX_INSTANT:
        raise ValueError("date-time out of range: its UTC year must be 0001 to 9999")
    return instant


def format_instant(instant: int) -> str:
    """``2025-12-22T20:36:50.595Z``: UTC, exactly three fractional digits (finer ones truncated)."""
    moment = _EPOCH + timedelta(microseconds=instant)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


@lru_cache(maxsize=1 << 12)
def normalize_timestamp(value: str) -> str:
    """The snapshot form of any valid RFC 3339 timestamp."""
    return format_instant(instant_of(value))


_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = _EPOCH.date().toordinal()


def epoch_day(instant: int) -> int:
    """The UTC calendar day of an instant, counted in days since 1970-01-01."""
    return instant // _DAY_US


def format_day(day: int) -> str:
    """``YYYY-MM-DD`` for a day counted since 1970-01-01."""
    return date.fromordinal(_EPOCH_ORDINAL + day).isoformat()


def parse_day(value: str) -> int:
    """Days since 1970-01-01 for a ``YYYY-MM-DD`` string."""
    return date.fromisoformat(value).toordinal() - _EPOCH_ORDINAL


#: The latest time an event can have (ms): 9999-12-31T23:59:59.999Z (a stored "latest own
#: event" time past it is not read: no time can be made after it).
LATEST_MS: Final = instant_of("9999-12-31T23:59:59.999Z") // 1000
