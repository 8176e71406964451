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
    "EmailTaken",
    "Storage",
    "StoredSnapshot",
    "User",
    "check_schema_version",
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
