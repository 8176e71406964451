"""The per-user snapshot, computed with the pyclient reducer and kept current incrementally.

A snapshot is valid *as of a log position*. The current position comes from the database on
every GET, so a cache is never stale, also when several server processes share one database:

1. in memory (per process, LRU): if its position is the user's last position, it is served
   as is (canonical JSON text, no reduce, no parse);
2. otherwise the newer of the in-memory and the persisted (``snapshots`` table) copy is brought
   forward: the events stored after it are read and either folded in or, when one of them
   sorts before the last event reduced, the whole log is reduced again (the client's own rule,
   :func:`pyclient.core.reducer.bring_forward`); also when a stored copy was replaced after
   it (``Storage.rewritten_at``), since what it folded in is no longer all in the log;
3. the result is kept in memory and persisted (only if newer than what is stored).

One computation per user at a time: concurrent GETs of one user wait for the first and reuse
its result (GETs run in worker threads, so waiting never holds up the event loop or other
users' GETs).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pyclient import Event, LearningGuestProgress, canonical_json, parse_events
from pyclient.core.codec import gc_paused
from pyclient.core.reducer import bring_forward

from .storage import Storage, StoredSnapshot

__all__ = ["SnapshotCache"]

_EMPTY_BODY = canonical_json(LearningGuestProgress())
_READ_CHUNK = 5000


class _Turn:
    """A user's turn to compute their snapshot (held while one thread computes it)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


@dataclass
class _Entry:
    position: int
    body: str
    last_key: tuple[int, str] | None
    model: LearningGuestProgress | None  # parsed lazily, only when events must be folded in


class SnapshotCache:
    def __init__(
        self,
        storage: Storage,
        max_users: int = 4096,
        on_fold: Callable[[str, float], None] | None = None,
    ) -> None:
        self._storage = storage
        self._on_fold = on_fold  # (kind: "incremental" or "full", seconds) after each one
        self._max_users = max_users
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        # user -> their turn, while a thread holds or waits for it (then dropped)
        self._turns: weakref.WeakValueDictionary[str, _Turn] = weakref.WeakValueDictionary()
        #: Counters for tests and the health endpoint.
        self.full_reductions = 0
        self.incremental_updates = 0

    def snapshot_json(self, user_id: str, position: int) -> str:
        """The canonical JSON snapshot of the user's log up to ``position`` (its last one)."""
        if position == 0:
            return _EMPTY_BODY
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is not None:
                self._entries.move_to_end(user_id)
        if entry is not None and entry.position == position:
            return entry.body
        with self._lock:
            turn = self._turns.get(user_id)
            if turn is None:
                turn = self._turns[user_id] = _Turn()
        with turn.lock:  # one computation per user at a time: the others wait and reuse it
            with self._lock:
                entry = self._entries.get(user_id)
            if entry is not None and entry.position == position:
                return entry.body
            return self._compute(user_id, entry, position)

    def _compute(self, user_id: str, entry: _Entry | None, position: int) -> str:
        if entry is None or entry.position > position:
            entry = None
        stored = self._storage.load_snapshot(user_id)
        if (
            stored is not None
            and stored.position <= position
            and (entry is None or stored.position > entry.position)
        ):
            entry = _Entry(
                stored.position,
                stored.body,
                (stored.last_instant, stored.last_event_id),
                None,
            )
        if entry is None or entry.position != position:
            entry = self._bring_forward(user_id, entry, position)
            self._persist(user_id, entry)
        with self._lock:
            current = self._entries.get(user_id)
            if current is None or current.position <= entry.position:
                self._entries[user_id] = entry
                self._entries.move_to_end(user_id)
            while len(self._entries) > self._max_users:
                self._entries.popitem(last=False)
        return entry.body

    def _read(self, user_id: str, after: int, upto: int) -> list[str]:
        bodies: list[str] = []
        while after < upto:
            rows = self._storage.read_events(user_id, after, _READ_CHUNK, upto)
            if not rows:
                break
            bodies.extend(body for _, body in rows)
            after = rows[-1][0]
        return bodies

    def _bring_forward(self, user_id: str, entry: _Entry | None, position: int) -> _Entry:
        if entry is not None and self._storage.rewritten_at(user_id) > entry.position:
            entry = None  # a copy it reduced was replaced since: reduce the whole log
        started = time.perf_counter()
        base = 0 if entry is None else entry.position
        with gc_paused():
            delta = parse_events("[" + ",".join(self._read(user_id, base, position)) + "]")

        def whole_log() -> list[Event]:
            if entry is None:
                return delta  # read from the start: the delta is the whole log
            with gc_paused():
                return parse_events("[" + ",".join(self._read(user_id, 0, position)) + "]")

        def before() -> LearningGuestProgress:
            assert entry is not None
            if entry.model is not None:
                return entry.model
            return LearningGuestProgress.model_validate_json(entry.body)

        model, last_key, folded = bring_forward(
            None if entry is None or entry.last_key is None else before,
            None if entry is None else entry.last_key,
            delta,
            whole_log,
        )
        if folded:
            self.incremental_updates += 1
        else:
            self.full_reductions += 1
        if self._on_fold is not None:
            self._on_fold("incremental" if folded else "full", time.perf_counter() - started)
        return _Entry(position, canonical_json(model), last_key, model)

    def _persist(self, user_id: str, entry: _Entry) -> None:
        if entry.last_key is None:
            return
        self._storage.save_snapshot(
            user_id,
            StoredSnapshot(entry.position, entry.body, entry.last_key[0], entry.last_key[1]),
        )
