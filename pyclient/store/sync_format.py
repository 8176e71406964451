"""Stored sync metadata: its versioned formats, its encoder and decoder, and the merge of two
tabs' metadata. Sync metadata lives only in storage: it is never sent to the API.

Version 3: ``{"v":3,"sync":{...},"synced":"...","segments":["<segment id>",...]}``. The
events of the log's segments listed in ``segments`` are all ``synced``: their entries are not
written (so that a write costs O(entries not in such a segment), whatever the history). Other
entries of status ``synced`` whose eventId is a canonical UUID are kept only as an id set
(``synced``, packed like a log's ids); every other entry is kept in full. A synced entry read
back has no ``lastAttemptAt``/``lastSyncedAt`` (nothing reads them; the state's
``lastSuccessfulSyncAt`` is kept). Absence of an entry (outside those segments) still means
"unknown". Version 2 (the same without ``segments``) and version 1 (``{"v":1,"sync":{...}}``)
are read and rewritten as version 3 on the next write.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..core.models import LearningProgressSyncEntry, LearningProgressSyncState
from ..core.sync_state import changed_since
from .keys import LOG_FORMAT_VERSION
from .packed_ids import PackedIds, is_uuid, unpack_dense, unpack_ids

__all__ = ["SyncText", "decode_sync", "encode_sync", "merge_sync_states"]


class _StoredSync(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    sync: LearningProgressSyncState


class _StoredSyncV2(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[2, 3]
    sync: LearningProgressSyncState
    synced: str
    segments: list[str] = []


_SYNCED: Final = LearningProgressSyncEntry(status="synced")


def encode_sync(
    state: LearningProgressSyncState,
    segments: Collection[str] = (),
    skip: Collection[str] = frozenset(),
) -> str:
    """Sync metadata in the version 3 stored format: synced UUID entries as an id set, and the
    entries of the events of ``segments`` (their eventIds ``skip``, all synced) left out."""
    return SyncText().encode(state, segments, skip)


def _is_compact_entry(event_id: str, entry: LearningProgressSyncEntry) -> bool:
    return (
        entry.status == "synced"
        and entry.retry_count == 0
        and not isinstance(entry.error_message, str)
        and is_uuid(event_id)
    )


class SyncText:
    """Sync metadata as last encoded, so that a state whose entries are the last encoded ones
    plus new entries at the end of its dict is encoded in O(new + entries kept in full);
    :meth:`encode` always gives the text of a fresh encode (:func:`encode_sync`) of a dict in
    the same order. It takes no caller's word for what is new: it asks the transitions that
    made the state (:func:`~pyclient.core.sync_state.changed_since`), or compares."""

    __slots__ = ("_full", "_ids", "_last", "_skip")

    def __init__(self) -> None:
        self._last: Mapping[str, LearningProgressSyncEntry] | None = None  # last encoded
        self._skip: Collection[str] = frozenset()
        self._full: dict[str, LearningProgressSyncEntry] = {}
        self._ids = PackedIds()

    def encode(
        self,
        state: LearningProgressSyncState,
        segments: Collection[str] = (),
        skip: Collection[str] = frozenset(),
    ) -> str:
        """``state`` as stored; the synced entries of ``skip`` (the events of the fully synced
        ``segments``) are left out (any other entry of theirs is written: it is this tab's
        word, never dropped for a marker)."""
        events = state.events
        new = None if self._last is None else _appended(self._last, events)
        if new is None or skip is not self._skip:  # a changed or dropped entry: everything
            self._full, self._ids = {}, PackedIds()
            new = list(events)
        self._skip = skip
        compact: list[str] = []
        for event_id in new:
            entry = events[event_id]
            if event_id in skip and entry.status == "synced":
                continue  # its segment is stored as all synced: only a synced entry goes
            if _is_compact_entry(event_id, entry):
                compact.append(event_id)
            else:
                self._full[event_id] = entry
        if compact:
            self._ids.extend(compact)
        self._last = events
        body = state.model_copy(update={"events": self._full}).model_dump_json(by_alias=True)
        listed = json.dumps(sorted(segments), separators=(",", ":"))
        return (
            f'{{"v":{LOG_FORMAT_VERSION},"sync":{body},"synced":"{self._ids.text}",'
            f'"segments":{listed}}}'
        )


def _appended(
    previous: Mapping[str, LearningProgressSyncEntry],
    events: dict[str, LearningProgressSyncEntry],
) -> list[str] | None:
    """The ids added at the end of ``events`` since ``previous`` when no other entry changed
    (in dict order); ``None`` otherwise."""
    changed = changed_since(previous, events)
    if changed is not None:
        if any(event_id in previous for event_id in changed):
            return None
        return list(dict.fromkeys(changed))
    new: list[str] = []
    for event_id in reversed(events):
        if event_id in previous:
            break
        new.append(event_id)
    # ``<=`` on items compares by identity first: cheap when the entries are the same objects
    if len(events) != len(previous) + len(new) or not previous.items() <= events.items():
        return None
    new.reverse()
    return new


def decode_sync(raw: str) -> tuple[LearningProgressSyncState, list[str], str | None]:
    """Stored sync metadata (version 1, 2 or 3): its entries, the log segments whose events
    are all synced, and what was wrong with it (``None``: nothing); of a broken value, the
    entries that are still valid. Never raises."""
    try:
        if raw.startswith(('{"v":3,', '{"v":2,')):
            stored = _StoredSyncV2.model_validate_json(raw)
            unpack = unpack_dense if stored.v == 3 else unpack_ids
            entries = dict.fromkeys(unpack(stored.synced), _SYNCED)
            entries.update(stored.sync.events)
            return stored.sync.model_copy(update={"events": entries}), stored.segments, None
        return _StoredSync.model_validate_json(raw).sync, [], None
    except ValueError:  # ValidationError included
        pass
    state = LearningProgressSyncState()
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return state, [], "not valid sync metadata (not JSON)"
    if isinstance(data, dict) and type(data.get("v")) is int and data["v"] > LOG_FORMAT_VERSION:
        return state, [], f"sync metadata format version {data['v']} is newer than this client"
    kept: dict[str, LearningProgressSyncEntry] = {}
    with contextlib.suppress(ValueError, TypeError, KeyError):
        unpack = unpack_dense if data.get("v") == 3 else unpack_ids
        kept = dict.fromkeys(unpack(data["synced"]), _SYNCED)
    with contextlib.suppress(KeyError, TypeError):
        entries = data["sync"]["events"]
        if isinstance(entries, dict):
            for event_id, entry in entries.items():
                with contextlib.suppress(ValidationError):
                    kept[event_id] = LearningProgressSyncEntry.model_validate(entry)
    segments: list[str] = []
    with contextlib.suppress(KeyError, TypeError):
        segments = [s for s in data["segments"] if isinstance(s, str)]
    return state.model_copy(update={"events": kept}), segments, "not valid sync metadata"


def _extends(
    mine: Mapping[str, LearningProgressSyncEntry], stored: Mapping[str, LearningProgressSyncEntry]
) -> bool:
    """Whether the merge of ``stored`` into ``mine`` is ``mine``: O(changes) when the
    transitions made ``mine`` from ``stored``, one comparison in C otherwise."""
    changed = changed_since(stored, mine)
    if changed is None:
        return stored.items() <= mine.items()  # in C, identity first
    return all(_mine_wins(mine[event_id], stored.get(event_id)) for event_id in changed)


def _mine_wins(mine: LearningProgressSyncEntry, stored: LearningProgressSyncEntry | None) -> bool:
    """Of two tabs' entries for one event, mine wins unless only the stored one is synced."""
    return stored is None or stored.status != "synced" or mine.status == "synced"


def merge_sync_states(
    mine: LearningProgressSyncState, stored: LearningProgressSyncState
) -> LearningProgressSyncState:
    """Sync metadata of two tabs: mine wins, except that ``synced`` anywhere stays ``synced``;
    entries only stored are kept; the latest successful sync time is kept."""
    if _extends(mine.events, stored.events):
        events = mine.events  # every stored entry is in mine, or loses to it: mine's
    else:
        events = dict(stored.events)
        for event_id, entry in mine.events.items():
            if _mine_wins(entry, events.get(event_id)):
                events[event_id] = entry
    times = [t for t in (mine.last_successful_sync_at, stored.last_successful_sync_at) if t]
    return mine.model_copy(
        update={
            "events": events,
            "last_successful_sync_at": max(times) if times else None,
            "last_synced_cursor": mine.last_synced_cursor or stored.last_synced_cursor,
        }
    )
