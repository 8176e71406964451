"""Stored sync metadata: its versioned formats, its encoder and decoder, and the merge of two
tabs' metadata. Sync metadata lives only in storage: it is never sent to the API.

Version 2: ``{"v":2,"sync":{...},"synced":"..."}``. Entries of status ``synced`` whose
eventId is a canonical UUID are kept only as an id set (``synced``, packed like a log's ids);
every other entry is kept in full. A synced entry read back has no ``lastAttemptAt``/
``lastSyncedAt`` (nothing reads them; the state's ``lastSuccessfulSyncAt`` is kept). Absence
of an entry still means "unknown". Version 1 (``{"v":1,"sync":{...}}``) is read and rewritten
as version 2 on the next write.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..core.models import LearningProgressSyncEntry, LearningProgressSyncState
from .keys import LOG_FORMAT_VERSION
from .packed_ids import PackedIds, is_uuid, pack_ids, unpack_ids

__all__ = ["SyncText", "decode_sync", "encode_sync", "merge_sync_states"]


class _StoredSync(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    sync: LearningProgressSyncState


class _StoredSyncV2(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[2]
    sync: LearningProgressSyncState
    synced: str


_SYNCED: Final = LearningProgressSyncEntry(status="synced")


def encode_sync(state: LearningProgressSyncState) -> str:
    """Sync metadata in the version 2 stored format (synced UUID entries as an id set)."""
    compact: list[str] = []
    full: dict[str, LearningProgressSyncEntry] = {}
    for event_id, entry in state.events.items():
        if _is_compact_entry(event_id, entry):
            compact.append(event_id)
        else:
            full[event_id] = entry
    body = state.model_copy(update={"events": full}).model_dump_json(by_alias=True)
    return f'{{"v":{LOG_FORMAT_VERSION},"sync":{body},"synced":"{pack_ids(compact)}"}}'


def _is_compact_entry(event_id: str, entry: LearningProgressSyncEntry) -> bool:
    return (
        entry.status == "synced"
        and entry.retry_count == 0
        and not isinstance(entry.error_message, str)
        and is_uuid(event_id)
    )


class SyncText:
    """Sync metadata as last encoded, so that a state whose entries are the last encoded ones
    plus new entries at the end of its dict is encoded in O(new + entries kept in full) after
    one comparison in C; :meth:`encode` always decodes to what :func:`encode_sync` does (the
    same text when the dict kept its order). It trusts no caller: it finds what is new itself.
    """

    __slots__ = ("_events", "_full", "_ids")

    def __init__(self) -> None:
        self._events: dict[str, LearningProgressSyncEntry] = {}
        self._full: dict[str, LearningProgressSyncEntry] = {}
        self._ids = PackedIds()

    def encode(self, state: LearningProgressSyncState) -> str:
        events = state.events
        previous = self._events
        new: list[str] = []
        for event_id in reversed(events):
            if event_id in previous:
                break
            new.append(event_id)
        # ``<=`` on items compares by identity first: cheap when the entries are the same
        # objects, as they are when only new entries were added.
        if len(events) != len(previous) + len(new) or not previous.items() <= events.items():
            self._events, self._full, self._ids = {}, {}, PackedIds()  # encode everything
            new = list(events)
        else:
            new.reverse()
        compact: list[str] = []
        for event_id in new:
            entry = events[event_id]
            if _is_compact_entry(event_id, entry):
                compact.append(event_id)
            else:
                self._full[event_id] = entry
        if compact:
            self._ids.extend(compact)
        if self._events:  # a copy: the next diff must not see later changes
            self._events.update((event_id, events[event_id]) for event_id in new)
        else:
            self._events = dict(events)
        body = state.model_copy(update={"events": self._full}).model_dump_json(by_alias=True)
        return f'{{"v":{LOG_FORMAT_VERSION},"sync":{body},"synced":"{self._ids.text}"}}'


def decode_sync(raw: str) -> tuple[LearningProgressSyncState, str | None]:
    """Stored sync metadata (version 1 or 2), and what was wrong with it (``None``: nothing);
    of a broken value, the entries that are still valid. Never raises."""
    try:
        if raw.startswith(f'{{"v":{LOG_FORMAT_VERSION},'):
            stored = _StoredSyncV2.model_validate_json(raw)
            entries = dict.fromkeys(unpack_ids(stored.synced), _SYNCED)
            entries.update(stored.sync.events)
            return stored.sync.model_copy(update={"events": entries}), None
        return _StoredSync.model_validate_json(raw).sync, None
    except ValueError:  # ValidationError included
        pass
    state = LearningProgressSyncState()
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return state, "not valid sync metadata (not JSON)"
    if isinstance(data, dict) and type(data.get("v")) is int and data["v"] > LOG_FORMAT_VERSION:
        return state, f"sync metadata format version {data['v']} is newer than this client"
    kept: dict[str, LearningProgressSyncEntry] = {}
    with contextlib.suppress(ValueError, TypeError, KeyError):
        kept = dict.fromkeys(unpack_ids(data["synced"]), _SYNCED)
    with contextlib.suppress(KeyError, TypeError):
        entries = data["sync"]["events"]
        if isinstance(entries, dict):
            for event_id, entry in entries.items():
                with contextlib.suppress(ValidationError):
                    kept[event_id] = LearningProgressSyncEntry.model_validate(entry)
    return state.model_copy(update={"events": kept}), "not valid sync metadata"


def merge_sync_states(
    mine: LearningProgressSyncState, stored: LearningProgressSyncState
) -> LearningProgressSyncState:
    """Sync metadata of two tabs: mine wins, except that ``synced`` anywhere stays ``synced``;
    entries only stored are kept; the latest successful sync time is kept."""
    if stored.events.items() <= mine.events.items():  # in C, identity first: O(n) but cheap
        events = mine.events  # every stored entry is in mine as is: the merge is mine's
    else:
        events = dict(stored.events)
        for event_id, entry in mine.events.items():
            other = events.get(event_id)
            if other is None or other.status != "synced" or entry.status == "synced":
                events[event_id] = entry
    times = [t for t in (mine.last_successful_sync_at, stored.last_successful_sync_at) if t]
    return mine.model_copy(
        update={
            "events": events,
            "last_successful_sync_at": max(times) if times else None,
            "last_synced_cursor": mine.last_synced_cursor or stored.last_synced_cursor,
        }
    )
