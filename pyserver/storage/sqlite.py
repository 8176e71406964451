"""SQLite storage (the default): one file, WAL, writers serialized by ``BEGIN IMMEDIATE``.

Within one process a lock also serializes writers, so that they queue on the lock rather than
on SQLite's sleeping busy handler; other processes sharing the file wait on ``busy_timeout``.
Each thread has its own connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import StorageError
from .base import (
    AppendResult,
    Backoff,
    EmailTaken,
    LoginCounter,
    Quota,
    Replaces,
    StoredSnapshot,
    Usage,
    User,
    check_quota,
    check_schema_version,
    count_login_attempt,
    plan_append,
)

__all__ = ["SqliteStorage"]

#: Schema migrations: version N is reached by running MIGRATIONS[N - 1].
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE users (
            user_id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE user_logs (
            user_id TEXT PRIMARY KEY,
            last_position INTEGER NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE events (
            user_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (user_id, position)
        ) WITHOUT ROWID""",
        "CREATE UNIQUE INDEX events_by_event_id ON events (user_id, event_id)",
        """CREATE TABLE snapshots (
            user_id TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            last_instant INTEGER NOT NULL,
            last_event_id TEXT NOT NULL,
            body TEXT NOT NULL
        ) WITHOUT ROWID""",
    ],
    [
        # Login throttle counters (per account, per client address), shared by processes.
        """CREATE TABLE login_attempts (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            next_at REAL NOT NULL,
            last_at REAL NOT NULL,
            checks INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ],
    [
        # Usage (for quotas) and the position of the latest replaced copy, kept per user.
        "ALTER TABLE user_logs ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE user_logs ADD COLUMN byte_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE user_logs ADD COLUMN rewritten_at INTEGER NOT NULL DEFAULT 0",
        """UPDATE user_logs SET
            event_count = (SELECT count(*) FROM events e WHERE e.user_id = user_logs.user_id),
            byte_count = (SELECT coalesce(sum(length(CAST(body AS BLOB))), 0) FROM events e
                          WHERE e.user_id = user_logs.user_id)""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)
_BUSY_TIMEOUT_MS = 30_000
_PAGE_SIZE = 16_384


class SqliteStorage:
    backend = "sqlite"
    known_schema_version = SCHEMA_VERSION

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
        except sqlite3.Error as exc:
            self.close()
            raise StorageError(f"cannot open SQLite database {path}: {exc}") from exc

    @classmethod
    def from_url(cls, url: str) -> SqliteStorage:
        path = url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise StorageError("a SQLite URL is sqlite:///relative/path or sqlite:////abs/path")
        return cls(Path(path[1:]))

    # ------------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StorageError("storage is closed")
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=_BUSY_TIMEOUT_MS / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            # A new file gets 16 KiB pages (an existing one keeps its own): in a WITHOUT ROWID
            # table a row above about a quarter of a 4 KiB page spills into an overflow page of
            # its own, so the largest events (about 1 KB) took 4.8x their size on disk; 1.5x.
            conn.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialized with every other writer."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    # ------------------------------------------------------------------ schema

    def _migrate(self) -> None:
        with self._write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            check_schema_version(current, SCHEMA_VERSION)
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version - 1]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def schema_version(self) -> int:
        row = self._conn().execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def ping(self) -> None:
        self._conn().execute("SELECT 1").fetchone()

    # ------------------------------------------------------------------ events

    def append_events(
        self,
        user_id: str,
        events: Sequence[tuple[str, str]],
        *,
        quota: Quota | None = None,
        replaces: Replaces | None = None,
    ) -> AppendResult:
        with self._write() as conn:
            row = conn.execute(
                "SELECT last_position, event_count, byte_count FROM user_logs WHERE user_id = ?",
                (user_id,),
            ).fetchone()
            last, usage = (row[0], Usage(row[1], row[2])) if row else (0, Usage(0, 0))
            stored: dict[str, tuple[int, str]] = {}
            ids = list(dict.fromkeys(event_id for event_id, _ in events))
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                stored.update(
                    (r[0], (r[1], r[2]))
                    for r in conn.execute(
                        "SELECT event_id, position, body FROM events "
                        f"WHERE user_id = ? AND event_id IN ({marks})",
                        (user_id, *chunk),
                    )
                )
            plan = plan_append(events, stored, last, replaces)
            if not plan.rows:
                return AppendResult(stored=0, last_position=last)
            after = check_quota(usage, plan, quota)
            position = plan.rows[-1][0]
            conn.executemany(
                "DELETE FROM events WHERE user_id = ? AND position = ?",
                [(user_id, p) for p in plan.removed],
            )
            conn.executemany(
                "INSERT INTO events (user_id, position, event_id, body) VALUES (?, ?, ?, ?)",
                [(user_id, *row) for row in plan.rows],
            )
            conn.execute(
                "INSERT INTO user_logs (user_id, last_position, event_count, byte_count, "
                "rewritten_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "last_position = excluded.last_position, event_count = excluded.event_count, "
                "byte_count = excluded.byte_count, "
                "rewritten_at = max(user_logs.rewritten_at, excluded.rewritten_at)",
                (user_id, position, after.events, after.bytes, plan.rewritten),
            )
            return plan.result()

    def usage(self, user_id: str) -> Usage:
        row = (
            self._conn()
            .execute("SELECT event_count, byte_count FROM user_logs WHERE user_id = ?", (user_id,))
            .fetchone()
        )
        return Usage(int(row[0]), int(row[1])) if row else Usage(0, 0)

    def rewritten_at(self, user_id: str) -> int:
        row = (
            self._conn()
            .execute("SELECT rewritten_at FROM user_logs WHERE user_id = ?", (user_id,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def read_events(
        self, user_id: str, after: int, limit: int, upto: int | None = None
    ) -> list[tuple[int, str]]:
        if upto is None:
            cursor = self._conn().execute(
                "SELECT position, body FROM events WHERE user_id = ? AND position > ? "
                "ORDER BY position LIMIT ?",
                (user_id, after, limit),
            )
        else:
            cursor = self._conn().execute(
                "SELECT position, body FROM events WHERE user_id = ? AND position > ? "
                "AND position <= ? ORDER BY position LIMIT ?",
                (user_id, after, upto, limit),
            )
        return cursor.fetchall()

    def last_position(self, user_id: str) -> int:
        row = (
            self._conn()
            .execute("SELECT last_position FROM user_logs WHERE user_id = ?", (user_id,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ snapshots

    def load_snapshot(self, user_id: str) -> StoredSnapshot | None:
        row = (
            self._conn()
            .execute(
                "SELECT position, body, last_instant, last_event_id FROM snapshots "
                "WHERE user_id = ?",
                (user_id,),
            )
            .fetchone()
        )
        return None if row is None else StoredSnapshot(row[0], row[1], row[2], row[3])

    def save_snapshot(self, user_id: str, snapshot: StoredSnapshot) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO snapshots (user_id, position, last_instant, last_event_id, body) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "position = excluded.position, last_instant = excluded.last_instant, "
                "last_event_id = excluded.last_event_id, body = excluded.body "
                "WHERE excluded.position > snapshots.position",
                (
                    user_id,
                    snapshot.position,
                    snapshot.last_instant,
                    snapshot.last_event_id,
                    snapshot.body,
                ),
            )

    # ------------------------------------------------------------------ users

    def create_user(self, user_id: str, email: str, password_hash: str) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO users (user_id, email, password_hash, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (user_id, email, password_hash, datetime.now(UTC).isoformat()),
                )
        except sqlite3.IntegrityError:
            raise EmailTaken(email) from None

    def find_user(self, email: str) -> User | None:
        row = (
            self._conn()
            .execute("SELECT user_id, email, password_hash FROM users WHERE email = ?", (email,))
            .fetchone()
        )
        return None if row is None else User(row[0], row[1], row[2])

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE user_id = ?", (password_hash, user_id)
            )

    # ------------------------------------------------------------------ login throttle

    def count_login_attempt(
        self, keys: Sequence[str], rules: Sequence[Backoff], now: float
    ) -> float:
        # BEGIN IMMEDIATE: read and write back under the database's write lock, so attempts
        # from every process sharing the file are counted one after another.
        with self._write() as conn:
            counters = [self._login_counter(conn, key) for key in keys]
            wait, counted = count_login_attempt(counters, rules, now)
            if wait > 0:
                return wait
            conn.executemany(
                "INSERT INTO login_attempts (key, failures, next_at, last_at, checks) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "failures = excluded.failures, next_at = excluded.next_at, "
                "last_at = excluded.last_at, checks = excluded.checks",
                [
                    (key, c.failures, c.next_at, c.last_at, c.checks)
                    for key, c in zip(keys, counted, strict=True)
                ],
            )
            return 0.0

    def login_succeeded(self, reset: Sequence[str], refund: Sequence[str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE login_attempts SET failures = 0, next_at = 0 WHERE key = ?",
                [(key,) for key in reset],
            )
            conn.executemany(
                "UPDATE login_attempts SET failures = max(failures - 1, 0) WHERE key = ?",
                [(key,) for key in refund],
            )

    @staticmethod
    def _login_counter(conn: sqlite3.Connection, key: str) -> LoginCounter | None:
        row = conn.execute(
            "SELECT failures, next_at, last_at, checks FROM login_attempts WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else LoginCounter(int(row[0]), row[1], row[2], int(row[3]))

    def login_counter(self, key: str) -> LoginCounter | None:
        return self._login_counter(self._conn(), key)

    def prune_login_counters(self, before: float) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM login_attempts WHERE last_at < ? AND next_at < ?", (before, before)
            )
            return int(cursor.rowcount)
