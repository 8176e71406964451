"""Every localStorage key of the client and the format version of each value: the one home.

Keys (spec §4.4, DESIGN §5)::

    learning_progress_events                 guest event log
    learning_progress_snapshot               guest snapshot cache
    learning_progress_events:{userId}        a user's event log
    <log key>:segment:<id>                   a sealed segment of a log (:mod:`.segments`)
    learning_progress_checkpoint             the guest log's checkpoint
    learning_progress_checkpoint:{userId}    a user's log checkpoint (:mod:`.checkpoint_format`)
    learning_progress_snapshot:{userId}      a user's snapshot cache
    learning_progress_start                  what the guest's snapshot cache is the reduction of
    learning_progress_start:{userId}         the same of a user's (:mod:`.start_format`)
    learning_progress_sync:{userId}          a user's sync metadata (never sent to the API)
    learning_progress_client_id              this browser profile's clientId
    learning_progress_session                the signed-in session (a reload stays signed in)
    learning_progress_queue:{eventId}        an action taken before the client was ready
    <key>:corrupt:<time>                     a value that could not be read, kept aside

The early-action queue (DESIGN §5): until the Python client is ready the page itself records
the learner's actions, each in a key of its own (so two tabs never rewrite one value), as
``{"v": 1, "userId": <the signed-in user's id or null>, "event": <the event as on the wire>}``.
The engine ingests every queued action into that user's log when it starts (and whenever
another tab queues one), keeps the eventId, and removes the key only once the log that holds the
event is written; a value it cannot read is kept aside like any corrupt value.

The page's JavaScript gets these names from this file (the build writes ``storage-keys.js``),
so the page and the client cannot disagree. Standard library only: the build imports it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CHECKPOINT_FORMAT_VERSION",
    "CLIENT_ID_KEY",
    "GUEST_EVENTS_KEY",
    "GUEST_SNAPSHOT_KEY",
    "KEY_PREFIX",
    "LOG_FORMAT_VERSION",
    "QUEUE_FORMAT_VERSION",
    "QUEUE_PREFIX",
    "SESSION_FORMAT_VERSION",
    "SESSION_KEY",
    "SNAPSHOT_FORMAT_VERSION",
    "SYNC_PREFIX",
    "checkpoint_key",
    "corrupt_key",
    "events_key",
    "queue_key",
    "snapshot_key",
    "start_key",
    "sync_key",
]

#: Every key of this client starts with this (``storage`` events of other keys are ignored).
KEY_PREFIX: Final = "learning_progress"
GUEST_EVENTS_KEY: Final = "learning_progress_events"
GUEST_SNAPSHOT_KEY: Final = "learning_progress_snapshot"
CLIENT_ID_KEY: Final = "learning_progress_client_id"
SESSION_KEY: Final = "learning_progress_session"
SYNC_PREFIX: Final = "learning_progress_sync"
CHECKPOINT_PREFIX: Final = "learning_progress_checkpoint"
START_PREFIX: Final = "learning_progress_start"
#: Every early-action key starts with this (``learning_progress_queue:{eventId}``).
QUEUE_PREFIX: Final = "learning_progress_queue"

#: The version of snapshot caches and client ids (``{"v":1,...}``).
SNAPSHOT_FORMAT_VERSION: Final = 1
#: The version of the stored session.
SESSION_FORMAT_VERSION: Final = 1
#: The version of a log checkpoint (version 1, without ``own``, is read too).
CHECKPOINT_FORMAT_VERSION: Final = 2
#: The version of a queued early action.
QUEUE_FORMAT_VERSION: Final = 1
#: The version event logs and sync metadata are written in (older ones are read and migrated).
LOG_FORMAT_VERSION: Final = 3


def events_key(user_id: str | None) -> str:
    """The event log key of a user, or of the guest (``None``)."""
    return GUEST_EVENTS_KEY if user_id is None else f"{GUEST_EVENTS_KEY}:{user_id}"


def snapshot_key(user_id: str | None) -> str:
    """The snapshot cache key of a user, or of the guest (``None``)."""
    return GUEST_SNAPSHOT_KEY if user_id is None else f"{GUEST_SNAPSHOT_KEY}:{user_id}"


def checkpoint_key(user_id: str | None) -> str:
    """The checkpoint key of a user's log, or of the guest's (``None``)."""
    return CHECKPOINT_PREFIX if user_id is None else f"{CHECKPOINT_PREFIX}:{user_id}"


def start_key(user_id: str | None) -> str:
    """The start point key of a user's log, or of the guest's (``None``)."""
    return START_PREFIX if user_id is None else f"{START_PREFIX}:{user_id}"


def sync_key(user_id: str) -> str:
    """The sync metadata key of a user (guests have none: nothing of theirs is synced)."""
    return f"{SYNC_PREFIX}:{user_id}"


def queue_key(event_id: str) -> str:
    """The key of one action queued before the client was ready."""
    return f"{QUEUE_PREFIX}:{event_id}"


def corrupt_key(key: str, stamp: str, n: int = 1) -> str:
    """Where an unreadable value of ``key`` is kept aside (``n`` > 1 when that one is taken)."""
    base = f"{key}:corrupt:{stamp}"
    return base if n == 1 else f"{base}:{n}"
