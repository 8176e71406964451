"""PostgreSQL storage (psycopg 3): for several server processes and large logs.

Positions are allocated under a per-user row lock: an append first upserts the user's
``user_logs`` row (``ON CONFLICT DO UPDATE`` locks it), so appends for one user run one after
another and each commits before the next reads ``last_position``; a later commit never takes
a position below one already visible. Other users' appends run in parallel. Each thread has
its own connection (autocommit; writes in explicit transactions).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import psycopg

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

__all__ = ["PostgresStorage"]

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE users (
            user_id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""",
        """CREATE TABLE user_logs (
            user_id TEXT PRIMARY KEY,
            last_position BIGINT NOT NULL
        )""",
        """CREATE TABLE events (
            user_id TEXT NOT NULL,
            position BIGINT NOT NULL,
            event_id TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (user_id, position)
        )""",
        "CREATE UNIQUE INDEX events_by_event_id ON events (user_id, event_id)",
        """CREATE TABLE snapshots (
            user_id TEXT PRIMARY KEY,
            position BIGINT NOT NULL,
            last_instant BIGINT NOT NULL,
            last_event_id TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
    ],
    [
        # Login throttle counters (per account, per client address), shared by processes.
        """CREATE TABLE login_attempts (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            next_at DOUBLE PRECISION NOT NULL,
            last_at DOUBLE PRECISION NOT NULL,
            checks BIGINT NOT NULL
        )""",
    ],
    [
        # Usage (for quotas) and the position of the latest replaced copy, kept per user.
        """ALTER TABLE user_logs ADD COLUMN event_count BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN byte_count BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN rewritten_at BIGINT NOT NULL DEFAULT 0""",
        """UPDATE user_logs SET event_count = s.n, byte_count = s.b
            FROM (SELECT user_id, count(*) AS n, sum(octet_length(body)) AS b
                  FROM events GROUP BY user_id) AS s
            WHERE s.user_id = user_logs.user_id""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)
#: The advisory lock that serializes schema migrations between server processes.
_MIGRATION_LOCK = 0x70797365  # "pyse"


class PostgresStorage:
    backend = "postgresql"
    known_schema_version = SCHEMA_VERSION

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        try:
            self._migrate()
        except psycopg.Error as exc:
            self.close()
            raise StorageError(f"cannot open PostgreSQL database: {exc}") from exc

    def _conn(self) -> psycopg.Connection:
        conn: psycopg.Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            if self._closed:
                raise StorageError("storage is closed")
            conn = psycopg.connect(self.url, autocommit=True)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    # ------------------------------------------------------------------ schema

    def _migrate(self) -> None:
        conn = self._conn()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = (row[0] if row else None) or 0
            check_schema_version(current, SCHEMA_VERSION)
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version - 1]:
                    conn.execute(statement.encode())
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))

    def schema_version(self) -> int:
        row = self._conn().execute("SELECT max(version) FROM schema_version").fetchone()
        return int((row[0] if row else None) or 0)

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
        conn = self._conn()
        ids = list(dict.fromkeys(event_id for event_id, _ in events))
        with conn.transaction():
            # Locks the user's row until commit: appends for one user are serialized.
            row = conn.execute(
                "INSERT INTO user_logs (user_id, last_position) VALUES (%s, 0) "
                "ON CONFLICT (user_id) DO UPDATE SET last_position = user_logs.last_position "
                "RETURNING last_position, event_count, byte_count",
                (user_id,),
            ).fetchone()
            last, usage = (
                (int(row[0]), Usage(int(row[1]), int(row[2]))) if row else (0, Usage(0, 0))
            )
            stored = {
                r[0]: (int(r[1]), r[2])
                for r in conn.execute(
                    "SELECT event_id, position, body FROM events "
                    "WHERE user_id = %s AND event_id = ANY(%s)",
                    (user_id, ids),
                )
            }
            plan = plan_append(events, stored, last, replaces)
            if not plan.rows:
                return AppendResult(stored=0, last_position=last)
            after = check_quota(usage, plan, quota)
            position = plan.rows[-1][0]
            if plan.removed:
                conn.execute(
                    "DELETE FROM events WHERE user_id = %s AND position = ANY(%s)",
                    (user_id, plan.removed),
                )
            positions, event_ids, bodies = (list(c) for c in zip(*plan.rows, strict=True))
            conn.execute(
                "INSERT INTO events (user_id, position, event_id, body) "
                "SELECT %s, p, e, b FROM unnest(%s::bigint[], %s::text[], %s::text[]) "
                "AS t(p, e, b)",
                (user_id, positions, event_ids, bodies),
            )
            conn.execute(
                "UPDATE user_logs SET last_position = %s, event_count = %s, byte_count = %s, "
                "rewritten_at = greatest(rewritten_at, %s) WHERE user_id = %s",
                (position, after.events, after.bytes, plan.rewritten, user_id),
            )
        return plan.result()

    def usage(self, user_id: str) -> Usage:
        row = (
            self._conn()
            .execute("SELECT event_count, byte_count FROM user_logs WHERE user_id = %s", (user_id,))
            .fetchone()
        )
        return Usage(int(row[0]), int(row[1])) if row else Usage(0, 0)

    def rewritten_at(self, user_id: str) -> int:
        row = (
            self._conn()
            .execute("SELECT rewritten_at FROM user_logs WHERE user_id = %s", (user_id,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def read_events(
        self, user_id: str, after: int, limit: int, upto: int | None = None
    ) -> list[tuple[int, str]]:
        conn = self._conn()
        if upto is None:
            cur = conn.execute(
                "SELECT position, body FROM events WHERE user_id = %s AND position > %s "
                "ORDER BY position LIMIT %s",
                (user_id, after, limit),
            )
        else:
            cur = conn.execute(
                "SELECT position, body FROM events WHERE user_id = %s AND position > %s "
                "AND position <= %s ORDER BY position LIMIT %s",
                (user_id, after, upto, limit),
            )
        return [(int(p), b) for p, b in cur]

    def last_position(self, user_id: str) -> int:
        row = (
            self._conn()
            .execute("SELECT last_position FROM user_logs WHERE user_id = %s", (user_id,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ snapshots

    def load_snapshot(self, user_id: str) -> StoredSnapshot | None:
        row = (
            self._conn()
            .execute(
                "SELECT position, body, last_instant, last_event_id FROM snapshots "
                "WHERE user_id = %s",
                (user_id,),
            )
            .fetchone()
        )
        return None if row is None else StoredSnapshot(int(row[0]), row[1], int(row[2]), row[3])

    def save_snapshot(self, user_id: str, snapshot: StoredSnapshot) -> None:
        self._conn().execute(
            "INSERT INTO snapshots (user_id, position, last_instant, last_event_id, body) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
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
            self._conn().execute(
                "INSERT INTO users (user_id, email, password_hash) VALUES (%s, %s, %s)",
                (user_id, email, password_hash),
            )
        except psycopg.errors.UniqueViolation:
            raise EmailTaken(email) from None

    def find_user(self, email: str) -> User | None:
        row = (
            self._conn()
            .execute("SELECT user_id, email, password_hash FROM users WHERE email = %s", (email,))
            .fetchone()
        )
        return None if row is None else User(row[0], row[1], row[2])

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._conn().execute(
            "UPDATE users SET password_hash = %s WHERE user_id = %s", (password_hash, user_id)
        )

    # ------------------------------------------------------------------ login throttle

    def count_login_attempt(
        self, keys: Sequence[str], rules: Sequence[Backoff], now: float
    ) -> float:
        conn = self._conn()
        order = sorted(range(len(keys)), key=lambda i: keys[i])  # rows locked in key order
        ordered = [keys[i] for i in order]
        with conn.transaction():
            conn.execute(
                "INSERT INTO login_attempts (key, failures, next_at, last_at, checks) "
                "SELECT k, 0, 0, 0, 0 FROM unnest(%s::text[]) AS t(k) ORDER BY k "
                "ON CONFLICT (key) DO NOTHING",
                (ordered,),
            )
            rows = {
                row[0]: LoginCounter(int(row[1]), float(row[2]), float(row[3]), int(row[4]))
                for row in conn.execute(
                    "SELECT key, failures, next_at, last_at, checks FROM login_attempts "
                    "WHERE key = ANY(%s) ORDER BY key FOR UPDATE",
                    (ordered,),
                )
            }
            wait, counted = count_login_attempt([rows.get(key) for key in keys], rules, now)
            if wait > 0:
                return wait
            for key, c in zip(keys, counted, strict=True):
                conn.execute(
                    "UPDATE login_attempts SET failures = %s, next_at = %s, last_at = %s, "
                    "checks = %s WHERE key = %s",
                    (c.failures, c.next_at, c.last_at, c.checks, key),
                )
        return 0.0

    def login_succeeded(self, reset: Sequence[str], refund: Sequence[str]) -> None:
        conn = self._conn()
        with conn.transaction():
            conn.execute(
                "UPDATE login_attempts SET failures = 0, next_at = 0 WHERE key = ANY(%s)",
                (list(reset),),
            )
            conn.execute(
                "UPDATE login_attempts SET failures = greatest(failures - 1, 0) "
                "WHERE key = ANY(%s)",
                (list(refund),),
            )

    def login_counter(self, key: str) -> LoginCounter | None:
        row = (
            self._conn()
            .execute(
                "SELECT failures, next_at, last_at, checks FROM login_attempts WHERE key = %s",
                (key,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return LoginCounter(int(row[0]), float(row[1]), float(row[2]), int(row[3]))

    def prune_login_counters(self, before: float) -> int:
        cursor = self._conn().execute(
            "DELETE FROM login_attempts WHERE last_at < %s AND next_at < %s", (before, before)
        )
        return int(cursor.rowcount)
