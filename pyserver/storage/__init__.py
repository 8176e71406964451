"""Event storage: one interface (:class:`Storage`), SQLite (default) and PostgreSQL backends.

:func:`open_storage` picks the backend from the URL (``sqlite:///path`` or
``postgresql://...``), creating or migrating the schema (versioned) before it returns.
"""

from __future__ import annotations

from ..errors import StorageError
from .base import (
    AppendResult,
    EmailTaken,
    Quota,
    QuotaExceeded,
    Storage,
    StoredSnapshot,
    Usage,
    User,
)

__all__ = [
    "AppendResult",
    "EmailTaken",
    "Quota",
    "QuotaExceeded",
    "Storage",
    "StoredSnapshot",
    "Usage",
    "User",
    "open_storage",
]


def open_storage(url: str) -> Storage:
    """Open (and create or migrate) the database named by ``url``."""
    if url.startswith("sqlite://"):
        from .sqlite import SqliteStorage

        return SqliteStorage.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStorage

        return PostgresStorage(url)
    raise StorageError(
        "unsupported database URL: use sqlite:///path/to/file or postgresql://user@host/db"
    )
