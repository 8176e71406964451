"""localStorage as the client itself writes it (the current stored formats), for benchmarks
that seed a browser profile or size its values: a guest, or a signed-in user whose events are
all synced (the steady state)."""

from __future__ import annotations

from pyclient import Event, reduce_events
from pyclient.adapters.cpython import MemoryStorage, SystemClock
from pyclient.core.checkpoint import Checkpoint
from pyclient.core.eventlog import event_order_key
from pyclient.core.models import LearningProgressSyncEntry, LearningProgressSyncState
from pyclient.core.timestamps import instant_of
from pyclient.store.local_store import LocalStore


def synced_state(events: list[Event]) -> LearningProgressSyncState:
    """Sync metadata with every event synced."""
    entries = {
        e.event_id: LearningProgressSyncEntry(
            status="synced", last_attempt_at=e.occurred_at, last_synced_at=e.occurred_at
        )
        for e in events
    }
    last = max((e.occurred_at for e in events), default=None)
    return LearningProgressSyncState(
        events=entries, last_successful_sync_at=last, last_synced_cursor=str(len(events))
    )


def client_storage(events: list[Event], user: str | None, client_id: str) -> dict[str, str]:
    """Every key the client keeps for this history: the log (head and segments), its
    checkpoint, the snapshot cache and its start point, the client id and, for a user, the
    sync metadata."""
    storage = MemoryStorage()
    store = LocalStore(storage, SystemClock())
    store.client_id(lambda: client_id)
    store.add_events(user, events)
    if user is not None:
        store.write_sync(user, synced_state(events))
    sealed_ids = store.sealed_ids(user)
    sealed = sorted((e for e in events if e.event_id in sealed_ids), key=event_order_key)
    if sealed:
        segments = frozenset(store.segment_list(user))
        through = event_order_key(sealed[-1])
        checkpoint = Checkpoint(segments, through, len(sealed), reduce_events(sealed))
        store.write_checkpoint(user, checkpoint)
    snapshot = reduce_events(events)
    store.write_snapshot(user, snapshot)
    own = [instant_of(e.occurred_at) // 1000 for e in events if e.client_id == client_id]
    last = max(map(event_order_key, events), default=None)
    store.write_start(user, snapshot, last, max(own, default=0), cached=True)
    return dict(storage.data)
