"""pyclient: event-sourced learning-progress sync, the same pure core in CPython and Pyodide.

Nothing here imports ``js`` or ``pyodide``: time, storage and HTTP come in through ports. The
layout shows the architecture::

    core/       models, timestamps, the event-log rules, the reducer, sync-state transitions
    store/      storage keys and the stored formats; LocalStore reads and writes them
    http/       the progress API as the client speaks it
    engine.py   the local log, persistence and status     (synchronous transitions)
    history.py  a long history at load: from a checkpoint, the rest in steps after ready
    session.py  identity, bootstrap, queued early actions, the steps of a sync (synchronous)
    worker.py   SyncEngine: the async sync worker and its triggers
    adapters/   the ports on CPython and on Pyodide
    bridge.py   the browser driver behind web/progress-client.js

This module re-exports what a program using the client needs; the rest is imported from its
module.
"""

from .core.codec import canonical_json, dump_events, parse_events
from .core.models import Event, LearningGuestProgress
from .core.reducer import reduce_events
from .core.sync_state import EngineStatus
from .errors import (
    ApiError,
    InvalidEventsError,
    NetworkError,
    ProgressError,
    SessionExpiredError,
    StorageFullError,
)
from .http.api_client import Session
from .ports import Clock, HttpResponse, Storage, SyncLock, Transport
from .worker import SyncEngine

__all__ = [
    "ApiError",
    "Clock",
    "EngineStatus",
    "Event",
    "HttpResponse",
    "InvalidEventsError",
    "LearningGuestProgress",
    "NetworkError",
    "ProgressError",
    "Session",
    "SessionExpiredError",
    "Storage",
    "StorageFullError",
    "SyncEngine",
    "SyncLock",
    "Transport",
    "canonical_json",
    "dump_events",
    "parse_events",
    "reduce_events",
]
