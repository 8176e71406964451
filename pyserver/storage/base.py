"""The storage interface both backends implement, the records it passes around, and the rules
both backends apply alike (which events a PUT stores and at which positions, what it adds to
the user's usage and when that is over their quota; which schema versions a server accepts).

Every method is synchronous and thread-safe (the app calls them from a thread pool). A user's
log only grows: each newly stored event takes the next position (1, 2, 3, ...) in the order of
the request, and a transaction that commits later never takes a position below one already
visible to readers. One copy of each eventId is kept: when a PUT brings a copy that the
caller's ``replaces`` rule prefers to the stored one (DESIGN §3: the copy whose canonical JSON
sorts first), the stored copy is removed and the preferred one takes a new position, so every
client reading on from its cursor gets it (its old position stays a gap), and the user's
``rewritten_at`` records that position: a snapshot of an earlier position cannot be brought
forward by folding, only by reducing the log again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import StorageError

__all__ = [
    "AppendPlan",
    "AppendResult",
    "Backoff",
    "EmailTaken",
    "LoginCounter",
    "Quota",
    "QuotaExceeded",
    "Replaces",
    "Storage",
    "StoredSnapshot",
    "Usage",
    "User",
    "check_quota",
    "check_schema_version",
    "count_login_attempt",
    "plan_append",
]

#: ``replaces(new_json, stored_json)``: whether a differing copy of a stored event replaces it.
type Replaces = Callable[[str, str], bool]


@dataclass(frozen=True)
class AppendResult:
    stored: int  # how many events were new
    last_position: int  # the user's last position after the append
    replaced: int = 0  # how many stored copies a preferred copy replaced


@dataclass(frozen=True)
class Usage:
    """What a user's log holds: events, and bytes of their JSON (UTF-8)."""

    events: int
    bytes: int


@dataclass(frozen=True)
class Quota:
    """The most a user's log may hold (``Usage``'s units)."""

    events: int
    bytes: int


class QuotaExceeded(Exception):
    """An append would take a user's log over their quota; nothing of it was stored."""

    def __init__(self, usage: Usage, added: Usage, quota: Quota) -> None:
        super().__init__(f"{usage} + {added} is over {quota}")
        self.usage = usage
        self.added = added
        self.quota = quota


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
    #: The schema version this server's code is written for (readiness compares it with the
    #: database's).
    known_schema_version: int

    def append_events(
        self,
        user_id: str,
        events: Sequence[tuple[str, str]],
        *,
        quota: Quota | None = None,
        replaces: Replaces | None = None,
    ) -> AppendResult:
        """Store ``(eventId, json)`` pairs in one transaction (see :func:`plan_append`): known
        eventIds are skipped unless ``replaces`` prefers the new copy; :class:`QuotaExceeded`
        (nothing stored) if what is added takes the user over ``quota``."""
        ...

    def usage(self, user_id: str) -> Usage:
        """What the user's log holds now."""
        ...

    def rewritten_at(self, user_id: str) -> int:
        """The position of the latest copy that replaced a stored one (0: none ever did)."""
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


@dataclass(frozen=True)
class AppendPlan:
    """What an append writes: ``rows`` ``(position, eventId, json)`` to insert (positions
    ``last + 1``, ``last + 2``, ... in the order of the request), the ``removed`` positions of
    stored copies that rows replace, what it adds to the user's usage, and the position of
    its last replacing row (``rewritten``, 0 for none)."""

    rows: list[tuple[int, str, str]]
    removed: list[int]
    added: Usage
    rewritten: int = 0

    def result(self) -> AppendResult:
        """What the append did, once written (a plan with rows only)."""
        return AppendResult(
            stored=self.added.events, last_position=self.rows[-1][0], replaced=len(self.removed)
        )


def plan_append(
    events: Sequence[tuple[str, str]],
    stored: Mapping[str, tuple[int, str]],
    last: int,
    replaces: Replaces | None = None,
) -> AppendPlan:
    """The rows an append of ``(eventId, json)`` pairs stores, given the ``stored`` copies
    (eventId → (position, json)) of its eventIds and the user's ``last`` position.

    A new eventId is stored; a known one only when ``replaces(new, stored)`` prefers the new
    copy. Of several copies of one eventId in the request, the preferred one is written, at the
    place of the first.
    """
    chosen: dict[str, str] = {}
    for event_id, body in events:
        current = chosen.get(event_id)
        if current is not None:
            if body != current and replaces is not None and replaces(body, current):
                chosen[event_id] = body
            continue
        old = stored.get(event_id)
        if old is None or (body != old[1] and replaces is not None and replaces(body, old[1])):
            chosen[event_id] = body
    rows: list[tuple[int, str, str]] = []
    removed: list[int] = []
    added_events = added_bytes = rewritten = 0
    for position, (event_id, body) in enumerate(chosen.items(), start=last + 1):
        rows.append((position, event_id, body))
        added_bytes += len(body.encode())
        old = stored.get(event_id)
        if old is None:
            added_events += 1
        else:
            removed.append(old[0])
            added_bytes -= len(old[1].encode())
            rewritten = position
    return AppendPlan(rows, removed, Usage(added_events, added_bytes), rewritten)


def check_quota(usage: Usage, plan: AppendPlan, quota: Quota | None) -> Usage:
    """The user's usage after ``plan``; :class:`QuotaExceeded` if it grows past ``quota``
    (an append that adds nothing, a retry say, is never refused)."""
    after = Usage(usage.events + plan.added.events, usage.bytes + plan.added.bytes)
    grows = plan.added.events > 0 or plan.added.bytes > 0
    if quota is not None and grows and (after.events > quota.events or after.bytes > quota.bytes):
        raise QuotaExceeded(usage, plan.added, quota)
    return after


def check_schema_version(current: int, known: int) -> None:
    """Refuse a database whose schema is newer than the ``known`` version of this server."""
    if current > known:
        raise StorageError(
            f"the database has schema version {current}, newer than this server's "
            f"{known}: upgrade the server"
        )
