"""Which segments of a user's stored log are all synced (:mod:`.sync_format` version 3 keeps
them as segment ids and leaves their entries out), as one :class:`SyncedSegments` per user.

A segment is all synced when each of its events' entries is ``synced``, or has none and is
another client's event (it came from the server). Those marks are only ever added (synced is
final), from stored metadata (:meth:`SyncedSegments.note_stored`) or from this client's
state (:meth:`SyncedSegments.update`); they never override an entry that says an event still
has to be sent (``local``, ``error``).

Every method takes the segments this store has read as ``segments`` (id -> eventIds, ``None``
when not read) and, where needed, ``own`` (id -> the eventIds of this client's events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from ..core.models import LearningProgressSyncEntry, LearningProgressSyncState
from ..core.sync_state import restore_synced

__all__ = ["SyncedSegments"]

Segments = Mapping[str, frozenset[str] | None]


def _settled(entry: LearningProgressSyncEntry | None, own: bool) -> bool:
    """Whether an event needs no more syncing: synced, or another client's with no entry
    (it came from the server)."""
    return entry.status == "synced" if entry is not None else not own


class SyncedSegments:
    """The all-synced segments of one user's log, and what is known about the others."""

    __slots__ = ("_looked", "_read_ids", "_unsettled", "marked")

    def __init__(self) -> None:
        self.marked: set[str] = set()  # the segments known all synced
        self._unsettled: dict[str, frozenset[str]] = {}  # segment -> ids not known synced
        self._looked: set[str] = set()  # marked segments whose entries were settled
        # (the marked segments read, the union of their eventIds), kept while they hold
        self._read_ids: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())

    def note_stored(self, segment_ids: Iterable[str]) -> None:
        """Segments stored metadata keeps as all synced."""
        self.marked.update(segment_ids)

    def read_ids(self, segments: Segments) -> frozenset[str]:
        """The eventIds of the marked segments that have been read."""
        read = frozenset(i for i in self.marked if segments.get(i))
        if read != self._read_ids[0]:
            self._read_ids = (read, frozenset().union(*(segments[i] or () for i in read)))
        return self._read_ids[1]

    def update(
        self,
        segments: Segments,
        own: Mapping[str, frozenset[str]],
        state: LearningProgressSyncState,
    ) -> frozenset[str]:
        """Mark the read segments ``state`` shows all synced; the eventIds of the marked
        segments read (their synced entries are not written). O(entries of segments not yet
        marked that were not seen synced)."""
        entries = state.events
        for segment_id, ids in segments.items():
            if ids is None or segment_id in self.marked:
                continue
            mine = own.get(segment_id, frozenset())
            left = self._unsettled.get(segment_id, ids)
            left = frozenset(i for i in left if not _settled(entries.get(i), i in mine))
            self._unsettled[segment_id] = left
            if not left:
                self.marked.add(segment_id)
        return self.read_ids(segments)

    def settle(
        self,
        segments: Segments,
        state: LearningProgressSyncState,
        stored: LearningProgressSyncState,
    ) -> LearningProgressSyncState:
        """``state`` (a merge with ``stored``) with its ``syncing`` entries of events of
        marked segments settled ``synced``: another tab's entries (``syncing`` in its sync)
        merged in before that tab stopped writing them. ``local`` and ``error`` entries are
        left: they are a tab's own word that the event still has to be sent. Looks at the
        ``syncing`` entries only, against the segments newly known as all synced (read) and,
        for the stored entries, against every marked segment read: O(``syncing`` entries times
        new segments), never O(events of the log) (the first sync after a reload of a long
        history read them all at once: a long task in the page)."""
        fresh = [i for i in self.marked - self._looked if segments.get(i) is not None]
        self._looked.update(fresh)
        syncing = {i for i, e in state.events.items() if e.status == "syncing"}
        if not syncing:
            return state
        behind: set[str] = set()
        for segment_id in fresh:
            behind |= syncing & cast(frozenset[str], segments[segment_id])
        stored_syncing = {i for i, e in stored.events.items() if e.status == "syncing"}
        if left := (syncing & stored_syncing) - behind:
            behind |= left & self.read_ids(segments)
        return restore_synced(state, behind) if behind else state
