"""The storage interface both backends implement, the records it passes around, and the rules
both backends apply alike (which events a PUT stores and at which positions; which schema
versions a server accepts).

Every method is synchronous and thread-safe (the app calls them from a thread pool). A user's
log is append-only: each newly stored event takes the next position (1, 2, 3, ... with no
gaps) in the order of the request, and a transaction that commits later never takes a position
below one already visible to readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import StorageError

__all__ = [
    "AppendResult",
    "Backoff",
    "EmailTaken",
    "LoginCounter",
    "Storage",
    "StoredSnapshot",
    "User",
    "check_schema_version",
    "count_login_attempt",
    "number_new_events",
]


@dataclass(frozen=True)
class AppendResult:
    stored: int  # how many events were new
    last_position: int  # the user's last position after the append


@dataclass(frozen=True)
class StoredSnapshot:
    """A user's snapshot (canonical JSON) as of ``position``; ``last_key`` orders the log."""

    position: int
    body: str
    last_instant: int
    last_event_id: str


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    password_hash: str


@dataclass(frozen=True)
class Backoff:
    """How one kind of login counter (per account, per client address) slows guessing down.

    The first ``free - 1`` counted attempts pass at once; counting attempt ``free`` and every
    later one sets a wait of ``base * 2 ** (failures - free)`` seconds, at most ``cap``, before
    the next attempt is admitted. A counter untouched for ``forget_after`` seconds starts over.
    """

    free: int
    base: float
    cap: float
    forget_after: float

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th counted attempt."""
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free, 60))


@dataclass(frozen=True)
class LoginCounter:
    """A login counter as stored: counted attempts since the last reset (``failures``), the
    time (seconds since the epoch) before which no attempt is admitted, the last counted
    attempt, and how many attempts it has admitted to a password check in all (``checks``)."""

    failures: int
    next_at: float
    last_at: float
    checks: int


def count_login_attempt(
    counters: Sequence[LoginCounter | None], rules: Sequence[Backoff], now: float
) -> tuple[float, list[LoginCounter]]:
    """Admit one login attempt against every counter at once, or refuse it.

    Returns ``(wait, new counters)``: ``wait`` > 0 refuses the attempt (seconds until the
    latest of the counters admits one again) and nothing is counted; otherwise each counter
    has counted the attempt (before its password is checked) and must be written back.
    """
    current: list[LoginCounter] = []
    wait = 0.0
    for counter, rule in zip(counters, rules, strict=True):
        if counter is None:
            counter = LoginCounter(0, 0.0, 0.0, 0)
        elif now - counter.last_at > rule.forget_after:
            counter = LoginCounter(0, 0.0, counter.last_at, counter.checks)
        wait = max(wait, counter.next_at - now)
        current.append(counter)
    if wait > 0:
        return wait, current
    counted = []
    for counter, rule in zip(current, rules, strict=True):
        failures = counter.failures + 1
        delay = rule.delay(failures)
        # No wait: leave next_at alone (an attempt whose clock was read a moment earlier but
        # that is counted later must not be refused); a wait is never shortened.
        next_at = max(counter.next_at, now + delay) if delay > 0 else counter.next_at
        last_at = max(counter.last_at, now)
        counted.append(LoginCounter(failures, next_at, last_at, counter.checks + 1))
    return 0.0, counted


class EmailTaken(ValueError):
    """A user with this email already exists."""


class Storage(Protocol):
    #: ``"sqlite"`` or ``"postgresql"``.
    backend: str

    def append_events(self, user_id: str, events: Sequence[tuple[str, str]]) -> AppendResult:
        """Store ``(eventId, json)`` pairs in one transaction; known eventIds are skipped."""
        ...

    def read_events(
        self, user_id: str, after: int, limit: int, upto: int | None = None
    ) -> list[tuple[int, str]]:
        """``(position, json)`` of up to ``limit`` events after ``after`` (to ``upto``)."""
        ...

    def last_position(self, user_id: str) -> int:
        """The position of the user's latest event (0 for an empty log)."""
        ...

    def load_snapshot(self, user_id: str) -> StoredSnapshot | None: ...

    def save_snapshot(self, user_id: str, snapshot: StoredSnapshot) -> None:
        """Keep ``snapshot`` unless a snapshot at a later position is already stored."""
        ...

    def create_user(self, user_id: str, email: str, password_hash: str) -> None:
        """Add a user; :class:`EmailTaken` if the email is in use."""
        ...

    def find_user(self, email: str) -> User | None: ...

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace a user's password hash (a rehash with current parameters)."""
        ...

    def count_login_attempt(
        self, keys: Sequence[str], rules: Sequence[Backoff], now: float
    ) -> float:
        """Count a login attempt against the counters ``keys`` (each with its rule) in one
        atomic step, before the password is checked: 0.0 when admitted, else the seconds to
        wait (nothing counted). Concurrent attempts, from any process, are counted one by one.
        """
        ...

    def login_succeeded(self, reset: Sequence[str], refund: Sequence[str]) -> None:
        """A login succeeded: the ``reset`` counters start over (no wait), the ``refund``
        counters take back the attempt they counted (their wait stays)."""
        ...

    def login_counter(self, key: str) -> LoginCounter | None:
        """A stored login counter, if any (for operators, tests and the benchmark)."""
        ...

    def prune_login_counters(self, before: float) -> int:
        """Delete counters last touched before ``before`` whose wait is over; how many."""
        ...

    def schema_version(self) -> int: ...

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...

    def close(self) -> None: ...


def number_new_events(
    events: Sequence[tuple[str, str]], known: set[str], last: int
) -> list[tuple[int, str, str]]:
    """``(position, eventId, json)`` of the events an append stores, in the order of ``events``.

    An eventId in ``known`` (already stored) or earlier in ``events`` is skipped; the others take
    the positions ``last + 1``, ``last + 2``, ... with no gaps.
    """
    seen = set(known)
    rows: list[tuple[int, str, str]] = []
    position = last
    for event_id, body in events:
        if event_id in seen:
            continue
        seen.add(event_id)
        position += 1
        rows.append((position, event_id, body))
    return rows


def check_schema_version(current: int, known: int) -> None:
    """Refuse a database whose schema is newer than the ``known`` version of this server."""
    if current > known:
        raise StorageError(
            f"the database has schema version {current}, newer than this server's "
            f"{known}: upgrade the server"
        )
