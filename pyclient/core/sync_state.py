"""Sync metadata transitions (spec §4.5, §6.3, §8.1) as pure functions.

Each event's entry moves through this table; a transition not in it leaves the entry as it is
(an event re-marked or finished out of turn is never corrupted)::

    action       from                      to
    mark_local   (none), local, error      local
    start_sync   local                     syncing
    start_sync   error  (retry_errors)     syncing
    succeed      syncing, local, error     synced
    fail         syncing                   error      (retryCount + 1, errorMessage)
    interrupted  syncing                   local      (a page closed in the middle of a sync,
                                                   or a sync that did not hold the event)

Retry schedule: after the n-th consecutive failure wait ``RETRY_DELAYS_MS[n - 1]``; after
``MAX_RETRIES`` failed retries there is no automatic retry until the next trigger. What a
failed sync does next depends on its kind (:data:`FAILURE_HANDLING`)::

    failure          retried   cursor
    network          yes       kept      (no answer at all)
    retryable        yes       kept      (408, 429, 5xx)
    invalid_cursor   yes       dropped   (the next pull is complete)
    permanent        no        kept      (any other 4xx: held until a manual sync)

The state the page shows (:func:`engine_state`) is the first row that holds::

    signed in                               guest
    session expired     session_expired     storage full    error
    a sync is running   syncing             otherwise       local
    offline             offline
    failing             error    (an entry in error, storage full, or a failed sync)
    pending entries     local
    otherwise           synced

Every function takes the current time (``now``) as an argument; none reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple, get_args

from pydantic import MISSING

from .models import LearningProgressSyncEntry, LearningProgressSyncState, SyncStatus

__all__ = [
    "FAILURE_HANDLING",
    "MAX_RETRIES",
    "PENDING_STATUSES",
    "RETRY_DELAYS_MS",
    "SYNC_STATUSES",
    "EngineState",
    "EngineStatus",
    "FailureHandling",
    "FailureKind",
    "changed_since",
    "count_statuses",
    "eligible_event_ids",
    "engine_state",
    "finish_sync_failure",
    "finish_sync_success",
    "mark_local",
    "next_retry_delay_ms",
    "recover_interrupted",
    "release_unsent",
    "restore_synced",
    "start_sync",
]

MAX_RETRIES: Final = 4
RETRY_DELAYS_MS: Final = (1000, 5000, 15000, 60000)

#: The four statuses of an entry, and those that still have to reach the server.
SYNC_STATUSES: Final[tuple[SyncStatus, ...]] = get_args(SyncStatus)
PENDING_STATUSES: Final[tuple[SyncStatus, ...]] = ("local", "syncing", "error")

EngineState = Literal["synced", "local", "syncing", "error", "offline", "session_expired"]
FailureKind = Literal["network", "retryable", "invalid_cursor", "permanent"]


class FailureHandling(NamedTuple):
    retried: bool
    reset_cursor: bool


FAILURE_HANDLING: Final[dict[FailureKind, FailureHandling]] = {
    "network": FailureHandling(retried=True, reset_cursor=False),
    "retryable": FailureHandling(retried=True, reset_cursor=False),
    "invalid_cursor": FailureHandling(retried=True, reset_cursor=True),
    "permanent": FailureHandling(retried=False, reset_cursor=False),
}

_SIGNED_IN_STATES: Final[tuple[tuple[str, EngineState], ...]] = (
    ("session_expired", "session_expired"),
    ("syncing", "syncing"),
    ("offline", "offline"),
    ("failing", "error"),
    ("pending", "local"),
)
_GUEST_STATES: Final[tuple[tuple[str, EngineState], ...]] = (("storage_full", "error"),)


@dataclass(frozen=True)
class EngineStatus:
    """What the UI shows about syncing (DESIGN §8 ``client.status``)."""

    state: EngineState
    pending: int
    last_successful_sync_at: str | None
    error_message: str | None
    storage_warning: str | None
    user_id: str | None
    #: What the error is, for the page to put in words: ``storage_full`` while local storage
    #: refuses writes; else, while the state is ``error``, the last failed sync's: the
    #: server's code (``quota_exceeded``, ``rate_limited``, ``internal_error``, ...) or
    #: ``network``, with its HTTP status (``error_status``; ``None`` for ``network``).
    error_code: str | None = None
    error_status: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The camelCase object of the JS API."""
        return {
            "state": self.state,
            "pending": self.pending,
            "lastSuccessfulSyncAt": self.last_successful_sync_at,
            "errorMessage": self.error_message,
            "errorCode": self.error_code,
            "errorStatus": self.error_status,
            "storageWarning": self.storage_warning,
            "userId": self.user_id,
        }


def engine_state(
    *,
    signed_in: bool,
    session_expired: bool = False,
    syncing: bool = False,
    offline: bool = False,
    failing: bool = False,
    pending: bool = False,
    storage_full: bool = False,
) -> EngineState:
    """The state the page shows, from the conditions that hold (see the tables above)."""
    holds = {
        "session_expired": session_expired,
        "syncing": syncing,
        "offline": offline,
        "failing": failing,
        "pending": pending,
        "storage_full": storage_full,
    }
    for condition, state in _SIGNED_IN_STATES if signed_in else _GUEST_STATES:
        if holds[condition]:
            return state
    return "synced" if signed_in else "local"


def count_statuses(state: LearningProgressSyncState) -> dict[SyncStatus, int]:
    """How many entries have each status."""
    counts = dict.fromkeys(SYNC_STATUSES, 0)
    for entry in state.events.values():
        counts[entry.status] += 1
    return counts


_Action = Literal[
    "mark_local", "start_sync", "start_retry", "succeed", "fail", "interrupted", "restore"
]
_TRANSITIONS: Final[dict[tuple[_Action, SyncStatus | None], SyncStatus]] = {
    ("restore", None): "synced",
    ("restore", "syncing"): "synced",
    ("mark_local", None): "local",
    ("mark_local", "local"): "local",
    ("mark_local", "error"): "local",
    ("start_sync", "local"): "syncing",
    ("start_retry", "local"): "syncing",
    ("start_retry", "error"): "syncing",
    ("succeed", "syncing"): "synced",
    ("succeed", "local"): "synced",
    ("succeed", "error"): "synced",
    ("fail", "syncing"): "error",
    ("interrupted", "syncing"): "local",
}


def _entry(
    action: _Action, entry: LearningProgressSyncEntry | None, now: str | None, message: str | None
) -> LearningProgressSyncEntry | None:
    """The entry after ``action``, or ``None`` when the table has no such transition."""
    target = _TRANSITIONS.get((action, None if entry is None else entry.status))
    if target is None:
        return None
    if entry is None:
        return LearningProgressSyncEntry(status=target)
    if action in ("start_sync", "start_retry"):
        return entry.model_copy(update={"status": target, "last_attempt_at": now})
    if action == "succeed":
        return LearningProgressSyncEntry(
            status=target, last_attempt_at=entry.last_attempt_at, last_synced_at=now, retry_count=0
        )
    if action == "fail":
        return entry.model_copy(
            update={
                "status": target,
                "retry_count": entry.retry_count + 1,
                "error_message": message if message is not None else MISSING,
            }
        )
    return entry.model_copy(update={"status": target})


def _apply(
    state: LearningProgressSyncState,
    action: _Action,
    event_ids: Iterable[str],
    now: str | None = None,
    message: str | None = None,
) -> tuple[LearningProgressSyncState, list[str]]:
    events = dict(state.events)
    moved: list[str] = []
    for event_id in event_ids:
        entry = _entry(action, events.get(event_id), now, message)
        if entry is not None:
            events[event_id] = entry
            moved.append(event_id)
    if not moved:
        return state, moved
    _remember(state.events, events, moved)
    return state.model_copy(update={"events": events}), moved


# The last few transitions, so that a writer can tell what changed between the state it last
# wrote and the one it is given in O(changes), without comparing every entry and without
# taking anyone's word for it: each record holds the very dicts (a dict of entries is never
# changed once made), so an identity check proves that it applies.
_DERIVATIONS: Final[dict[int, tuple[Mapping[str, Any], Mapping[str, Any], list[str]]]] = {}
_DERIVATIONS_KEPT: Final = 4


def _remember(base: Mapping[str, Any], result: Mapping[str, Any], changed: list[str]) -> None:
    if len(_DERIVATIONS) >= _DERIVATIONS_KEPT:
        del _DERIVATIONS[next(iter(_DERIVATIONS))]
    _DERIVATIONS[id(result)] = (result, base, changed)


def changed_since(
    base: Mapping[str, LearningProgressSyncEntry], events: Mapping[str, LearningProgressSyncEntry]
) -> list[str] | None:
    """The ids whose entries the transitions of this module changed or added to turn ``base``
    into ``events`` (in that order, possibly repeated); ``None`` when that is not known (the
    dicts were made otherwise, or too many transitions ago): compare them then."""
    steps: list[list[str]] = []
    current = events
    while current is not base:
        derivation = _DERIVATIONS.get(id(current))
        if derivation is None or derivation[0] is not current:
            return None
        steps.append(derivation[2])
        current = derivation[1]
    return [event_id for step in reversed(steps) for event_id in step]


def mark_local(
    state: LearningProgressSyncState, event_ids: Iterable[str]
) -> LearningProgressSyncState:
    """New (or re-queued) events are ``local``: not yet sent."""
    return _apply(state, "mark_local", event_ids)[0]


def restore_synced(
    state: LearningProgressSyncState, event_ids: Iterable[str]
) -> LearningProgressSyncState:
    """Events that storage keeps as synced without an entry (a fully synced segment of the
    log: every one of its events was seen synced) are ``synced``: those with no entry, and
    those another tab left ``syncing``; a ``local`` or ``error`` entry is left as it is."""
    return _apply(state, "restore", event_ids)[0]


def eligible_event_ids(state: LearningProgressSyncState, *, retry_errors: bool) -> list[str]:
    """Events a sync would send now: ``local`` ones, and ``error`` ones when retrying."""
    wanted = ("local", "error") if retry_errors else ("local",)
    return [event_id for event_id, entry in state.events.items() if entry.status in wanted]


def start_sync(
    state: LearningProgressSyncState, now: str, *, retry_errors: bool = False
) -> tuple[LearningProgressSyncState, list[str]]:
    """Move eligible events to ``syncing``; returns the new state and the ids to send."""
    action: _Action = "start_retry" if retry_errors else "start_sync"
    return _apply(state, action, eligible_event_ids(state, retry_errors=retry_errors), now)


def finish_sync_success(
    state: LearningProgressSyncState, event_ids: Iterable[str], now: str, cursor: str | None = None
) -> LearningProgressSyncState:
    """The server stored these events: mark them ``synced`` and record the sync."""
    state = _apply(state, "succeed", event_ids, now)[0]
    update: dict[str, object] = {"last_successful_sync_at": now}
    if cursor is not None:
        update["last_synced_cursor"] = cursor
    return state.model_copy(update=update)


def finish_sync_failure(
    state: LearningProgressSyncState, event_ids: Iterable[str], now: str, message: str
) -> LearningProgressSyncState:
    """The push failed: mark the events ``error``, count the retry, keep the message."""
    return _apply(state, "fail", event_ids, now, message)[0]


def release_unsent(
    state: LearningProgressSyncState, event_ids: Iterable[str]
) -> LearningProgressSyncState:
    """Events a finished sync did not send (this tab does not hold them) go back to
    ``local``; they are never marked ``synced`` unsent."""
    return _apply(state, "interrupted", event_ids)[0]


def recover_interrupted(state: LearningProgressSyncState) -> LearningProgressSyncState:
    """After a reload, events left ``syncing`` go back to ``local`` (the server dedupes)."""
    syncing = [i for i, entry in state.events.items() if entry.status == "syncing"]
    return _apply(state, "interrupted", syncing)[0]


def next_retry_delay_ms(failures: int) -> int | None:
    """Delay before the next automatic retry after ``failures`` consecutive failures.

    ``None`` once ``MAX_RETRIES`` retries have failed: wait for the next trigger.
    """
    if failures < 1:
        return 0
    if failures > MAX_RETRIES:
        return None
    return RETRY_DELAYS_MS[failures - 1]
