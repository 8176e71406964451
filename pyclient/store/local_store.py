"""The client's own storage: reads and writes one origin's progress keys (:mod:`.keys`)
through a :class:`~pyclient.ports.Storage`.

Event logs are grow-only sets keyed by ``eventId``, stored as a head and sealed segments
(:mod:`.segments`): :meth:`LocalStore.add_events` stores the union of the stored head and the
events given, seals a full head, and hands back what other tabs stored meanwhile. Tabs read
and write without a transaction, so a tab may write a head based on a read from before another
tab's write; this store writes back, with its next write, what it had written and such a write
dropped, and finds segments by their keys as well as by the head's list. Sync metadata is
merged the same way (:func:`~.sync_format.merge_sync_states`).

Cost: adding events writes the head alone (at most :data:`~.segments.SEAL_AT` events), whatever
the history; when the stored head is still the text this store last wrote (compared by value:
no other tab wrote since) and the new events sort after every one of it, their text is appended
to the encoded parts of the last write. The store finds that out from its own state; it takes
no caller's word for it. A segment found missing or unreadable is reported
(:meth:`LocalStore.take_damaged`: the engine then pulls the whole log from the server again).

Corrupt values (bad JSON, wrong shape, an unknown newer format version, an event that does not
validate) never raise and are never dropped silently: the raw value is copied to
``<key>:corrupt:<timestamp>``, a warning is reported, and the valid events of the same value
still load; an early action the page queued (:mod:`.queue_format`) that cannot be read is set
aside so, and its key removed. A write that storage refuses raises :class:`StorageFullError`
and changes nothing. Snapshot caches and the client id are ``{"v":1,"snapshot":{...}}`` and
``{"v":1,"clientId":"..."}`` (the page's first paint reads the snapshot cache without Python).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Generator, Iterable
from collections.abc import Set as AbstractSet
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..core.checkpoint import REDUCER_RULES, Checkpoint
from ..core.eventlog import OrderKey, event_order_key, union_into
from ..core.models import (
    Event,
    LearningGuestProgress,
    LearningProgressSyncState,
)
from ..core.timestamps import format_instant
from ..errors import StorageFullError
from ..ports import Clock, Storage
from .checkpoint_format import decode_checkpoint, encode_checkpoint, is_newer_checkpoint
from .keys import (
    CLIENT_ID_KEY,
    LOG_FORMAT_VERSION,
    SNAPSHOT_FORMAT_VERSION,
    checkpoint_key,
    corrupt_key,
    events_key,
    snapshot_key,
    start_key,
    sync_key,
)
from .log_format import LogText, run_steps
from .queue_format import QueuedAction, decode_queued, is_queue_key, queued_text
from .segments import (
    SEAL_AT,
    StoredHead,
    decode_head_steps,
    decode_segment_steps,
    encode_head,
    encode_segment,
    segment_id_of,
    segment_ids_in,
    segment_key,
)
from .start_format import StartPoint, decode_start, encode_start, text_digest
from .sync_format import SyncText, decode_sync, merge_sync_states
from .synced_segments import SyncedSegments

__all__ = ["LocalStore"]


#: How a snapshot cache written here begins (its snapshot's canonical JSON and "}" follow).
_CACHE_OPENING: Final = f'{{"v":{SNAPSHOT_FORMAT_VERSION},"snapshot":'


class _StoredSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    snapshot: LearningGuestProgress


class _Log:
    """What this store knows of one stored log (:mod:`.segments`)."""

    __slots__ = (
        "head",
        "legacy",
        "listed",
        "mine",
        "news",
        "own",
        "raw",
        "sealed",
        "segments",
        "text",
    )

    def __init__(self) -> None:
        self.raw: str | None = None  # the head's text as last read or written
        self.head: dict[str, Event] = {}  # its events
        self.mine: dict[str, Event] = {}  # what this store last wrote into it (written back)
        self.news: dict[str, Event] = {}  # found in storage, not handed over yet
        self.text: LogText | None = None  # the encoder of ``raw`` (None: not built)
        self.legacy = False  # ``raw`` is of an older version, or lacks events: rewrite it
        self.listed: list[tuple[str, int]] = []  # every known segment: (id, size), in order
        self.segments: dict[str, frozenset[str] | None] = {}  # id -> its eventIds, once read
        self.own: dict[str, frozenset[str]] = {}  # id -> the eventIds of this client's events
        self.sealed: set[str] = set()  # the eventIds of every segment read


class LocalStore:
    """Reads and writes one origin's progress keys through a :class:`Storage`.

    ``on_warning`` receives a readable message whenever stored data was corrupt (and set
    aside); messages are also kept in :attr:`warnings`.
    """

    #: A head is sealed into a segment once it holds this many events.
    seal_at = SEAL_AT

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.warnings: list[str] = []
        self._on_warning = on_warning
        # log key -> what this store knows of it: skips re-reading an unchanged head, and
        # re-encoding the whole head for a new event, on every write.
        self._logs: dict[str, _Log] = {}
        self._sealed: dict[str, dict[str, frozenset[str]]] = {}  # see take_sealed
        self._damaged: set[str] = set()  # log keys with a segment missing or unreadable
        self._sync_cache: dict[str, tuple[str, LearningProgressSyncState]] = {}
        self._sync_text: dict[str, SyncText] = {}  # key -> the encoder of its last write
        self._synced: dict[str, SyncedSegments] = {}  # sync key -> its all-synced segments
        self._own_client: str | None = None  # this profile's clientId, once read
        self._snapshot_json: tuple[LearningGuestProgress, str] | None = None

    # ------------------------------------------------------------------ warnings, corruption

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _set_aside(self, key: str, raw: str, why: str, *, strict: bool) -> bool:
        """Copy a corrupt value to ``<key>:corrupt:<timestamp>``; False if storage refused."""
        stamp = format_instant(self.clock.now_ms() * 1000)
        aside, n = corrupt_key(key, stamp), 1
        existing = set(self.storage.keys())
        while aside in existing:
            if self.storage.get(aside) == raw:
                return True  # already kept aside
            n += 1
            aside = corrupt_key(key, stamp, n)
        try:
            self.storage.set(aside, raw)
        except StorageFullError:
            if strict:
                raise
            self._warn(f"{key}: {why}; storage is full, so it could not be set aside")
            return False
        self._warn(f"{key}: {why}; the raw value is kept under {aside}")
        return True

    # ------------------------------------------------------------------ client id

    def client_id(self, make: Callable[[], str]) -> str:
        """This profile's stable clientId, created (with ``make``) and stored on first use."""
        self._own_client = self._client_id(make)
        return self._own_client

    def _client_id(self, make: Callable[[], str]) -> str:
        raw = self.storage.get(CLIENT_ID_KEY)
        if raw is not None:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
            if (
                isinstance(data, dict)
                and data.get("v") == SNAPSHOT_FORMAT_VERSION
                and isinstance(data.get("clientId"), str)
            ):
                if 1 <= len(data["clientId"]) <= 128:
                    return str(data["clientId"])
            elif 1 <= len(raw) <= 128 and not raw.startswith("{"):
                return raw  # a bare id, written before stored values had versions
            self._set_aside(CLIENT_ID_KEY, raw, "not a valid client id", strict=False)
        client_id = make()
        try:
            self.storage.set(
                CLIENT_ID_KEY, json.dumps({"v": SNAPSHOT_FORMAT_VERSION, "clientId": client_id})
            )
        except StorageFullError:
            self._warn(f"{CLIENT_ID_KEY}: storage is full; the client id lives in memory only")
        return client_id

    # ------------------------------------------------------------------ event logs

    def _log(self, key: str) -> _Log:
        """What this store knows of a log (read on first contact, not brought up to date:
        only :meth:`add_events`, :meth:`stored_changes` and :meth:`read_events` do that, and
        hand over what they found)."""
        log = self._logs.get(key)
        return log if log is not None else self._open(key, strict=False)[0]

    def _open(self, key: str, *, strict: bool) -> tuple[_Log, dict[str, Event]]:
        """What this store knows of a log, brought up to date, and the events new to it (on
        first contact those of the head: its segments are read on demand)."""
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
            return log, self._refresh(key, log, strict=strict, read_new=False)
        return log, self._refresh(key, log, strict=strict, read_new=True)

    def _refresh(
        self,
        key: str,
        log: _Log,
        *,
        strict: bool,
        read_new: bool,
        decoded: tuple[str, StoredHead] | None = None,
    ) -> dict[str, Event]:
        """Read the head again when it is not the text this store last read or wrote, and
        look for segments it does not know; returns the events new to this store (those of
        the head, and with ``read_new`` those of the segments found). ``decoded``: a head's
        text and what it decodes to, already known."""
        raw = self.storage.get(key)
        if raw == log.raw and log.raw is not None:
            return {}
        if raw is None:
            head = StoredHead()
        elif decoded is not None and decoded[0] == raw:
            head = decoded[1]
        else:
            head = run_steps(decode_head_steps(raw))
        if head.problem is not None and raw is not None:
            if not self._set_aside(key, raw, head.problem, strict=strict):
                head.legacy = True  # not set aside: the next write tries again
            raw = None  # the valid events are written in its place with the next write
        seen = log.head  # a copy differing from the one seen is news too
        news = {i: e for i, e in head.events.items() if (k := seen.get(i)) is not e and k != e}
        known = log.segments
        found = [(i, n) for i, n in head.segments if i not in known]
        listed = {i for i, _ in head.segments}
        stored_ids = segment_ids_in(self.storage.keys(), key)
        found += [(i, 0) for i in stored_ids if i not in known and i not in listed]
        for segment_id, size in found:
            known[segment_id] = None
            log.listed.append((segment_id, size))
            if read_new:
                news.update(run_steps(self._read_segment(key, log, segment_id)))
        sealed = log.sealed
        log.mine = {i: e for i, e in log.mine.items() if i not in sealed}
        log.head, log.raw, log.text = head.events, raw, None
        log.legacy = head.legacy or any(i not in head.events for i in log.mine)
        return news

    def _read_segment(
        self, key: str, log: _Log, segment_id: str
    ) -> Generator[None, None, dict[str, Event]]:
        seg_key = segment_key(key, segment_id)
        raw = self.storage.get(seg_key)
        if raw is None:
            self._warn(f"{key}: segment {segment_id} of the stored log is missing")
            self._damaged.add(key)
            events: dict[str, Event] = {}
        else:
            events, problem = yield from decode_segment_steps(raw, segment_id)
            if problem is not None:
                self._damaged.add(key)
            if problem is not None and self._set_aside(seg_key, raw, problem, strict=False):
                # The raw value is safe elsewhere: keep its valid events in its place.
                with contextlib.suppress(StorageFullError):
                    self.storage.set(
                        seg_key, encode_segment(segment_id, LogText.of(events.values()))
                    )
        log.segments[segment_id] = frozenset(events)
        log.sealed.update(events)
        log.own[segment_id] = self._own_ids(events.values())
        return events

    def _own_ids(self, events: Iterable[Event]) -> frozenset[str]:
        own = self._own_client
        return frozenset(e.event_id for e in events if e.client_id == own)

    def take_damaged(self, user_id: str | None) -> bool:
        """Whether a segment of the log was found missing or unreadable since the last call
        (what it held may be lost here: pull the whole log from the server again)."""
        key = events_key(user_id)
        damaged = key in self._damaged
        self._damaged.discard(key)
        return damaged

    def segments_to_read(self, user_id: str | None) -> list[str]:
        """The segments of a stored log this store has not read yet, oldest first."""
        log = self._log(events_key(user_id))
        return [i for i, _ in log.listed if log.segments.get(i) is None]

    def read_segment(self, user_id: str | None, segment_id: str) -> dict[str, Event]:
        """The events of one segment of a stored log (corrupt parts set aside and reported)."""
        return run_steps(self.read_segment_steps(user_id, segment_id))

    def read_segment_steps(
        self, user_id: str | None, segment_id: str
    ) -> Generator[None, None, dict[str, Event]]:
        """:meth:`read_segment` in steps of bounded work (decoding, then validating)."""
        key = events_key(user_id)
        return self._read_segment(key, self._log(key), segment_id)

    def read_head(self, user_id: str | None) -> dict[str, Event]:
        """The events of a stored log that are not in a segment; with :meth:`read_segment` of
        every one of :meth:`segments_to_read`, the whole log."""
        key = events_key(user_id)
        self._logs.pop(key, None)  # read afresh: the engine switches to this log
        return dict(self._log(key).head)

    def read_head_steps(self, user_id: str | None) -> Generator[None, None, dict[str, Event]]:
        """:meth:`read_head` in steps of bounded work (the head decoded, then validated). Once
        anything else read the log meanwhile, that read stands: its head is the value."""
        key = events_key(user_id)
        self._logs.pop(key, None)
        raw = self.storage.get(key)
        decoded = None if raw is None else (raw, (yield from decode_head_steps(raw)))
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = _Log()
            self._refresh(key, log, strict=False, read_new=False, decoded=decoded)
        return dict(log.head)

    def prime_head_steps(self, user_id: str | None) -> Generator[None]:
        """Build the encoder of a stored log's head as read (in steps of bounded work), so
        that the next write appends to it rather than encoding the whole head at once (some
        2,000 events: a long task in the page). Nothing when a write or a read meanwhile
        changed the head."""
        log = self._logs.get(events_key(user_id))
        if log is None or log.text is not None or log.legacy or not log.head:
            return
        raw, head = log.raw, log.head
        text = yield from LogText.of_steps(head.values())
        if log.raw is raw and log.head is head and log.text is None and not log.legacy:
            log.text = text

    def sealed_ids(self, user_id: str | None) -> AbstractSet[str]:
        """The eventIds of every segment read so far (kept up to date, not a copy)."""
        return self._log(events_key(user_id)).sealed

    def segment_list(self, user_id: str | None) -> list[str]:
        """The ids of every known segment of a stored log."""
        return [i for i, _ in self._log(events_key(user_id)).listed]

    def read_events(self, user_id: str | None) -> dict[str, Event]:
        """The whole stored log by eventId (corrupt parts set aside and reported, never
        raised)."""
        key = events_key(user_id)
        log, news = self._open(key, strict=False)
        log.news.update(news)  # still handed over by the next add_events or stored_changes
        events: dict[str, Event] = {}
        for segment_id, _ in list(log.listed):
            union_into(events, run_steps(self._read_segment(key, log, segment_id)).values())
        union_into(events, log.head.values())
        return events

    def stored_changes(self, user_id: str | None) -> dict[str, Event]:
        """The events other tabs stored since this store last read or wrote the log."""
        log, news = self._open(events_key(user_id), strict=False)
        news, log.news = {**log.news, **news}, {}
        return news

    def add_events(self, user_id: str | None, events: Iterable[Event]) -> dict[str, Event]:
        """Store the union of ``events`` and the stored log (what this store wrote before
        and another tab's write dropped is written again); returns the events other tabs
        stored that were new to this store. A head that reaches :data:`SEAL_AT` events is
        sealed. Raises :class:`StorageFullError` when storage refuses (nothing changed then).
        """
        key = events_key(user_id)
        log, news = self._open(key, strict=True)
        log.news.update(news)  # handed over once the write succeeded
        head = dict(log.head)
        if log.legacy:
            union_into(head, log.mine.values())  # what a racing write of another tab dropped
        fresh, replaced = union_into(head, events)
        if fresh or replaced or log.legacy:
            text = log.text
            if replaced or text is None or not text.extend(fresh):
                text = None
            self._write_head(key, log, head, text)
        news, log.news = log.news, {}
        return news

    def seal(self, user_id: str | None) -> dict[str, Event]:
        """Seal the head of a stored log now, whatever its size (a checkpoint can then cover
        every event); returns what :meth:`add_events` returns. Raises
        :class:`StorageFullError` when storage refuses."""
        key = events_key(user_id)
        log = self._log(key)
        news = self.add_events(user_id, ())
        if log.head:
            self._write_head(key, log, dict(log.head), None, seal_all=True)
        return news

    def take_sealed(self, user_id: str | None) -> dict[str, frozenset[str]]:
        """The segments of a log this store sealed since the last call: id -> eventIds."""
        return self._sealed.pop(events_key(user_id), {})

    def _write_head(
        self,
        key: str,
        log: _Log,
        head: dict[str, Event],
        text: LogText | None,
        *,
        seal_all: bool = False,
    ) -> None:
        """Write the head. A head of :attr:`seal_at` events or more (with ``seal_all``, any)
        is sealed first, a segment at a time: the segment written, then the head without its
        events, so that a large head (an older format's whole log) never needs room for
        itself twice. Storage refusing a segment stops the sealing there (the rest stays in
        the head); refusing the head raises :class:`StorageFullError`. A segment written
        before a refused head write stays: its events are still in the stored head, and
        reading unites the two (a segment is never removed: another tab may have written
        the very same one and listed it)."""
        chunks: list[list[Event]] = []
        if len(head) >= self.seal_at or (seal_all and head):
            ordered = sorted(head.values(), key=event_order_key)
            last = len(ordered) if seal_all else len(ordered) - self.seal_at + 1
            chunks = [ordered[i : i + self.seal_at] for i in range(0, last, self.seal_at)]
        sealed_any = False
        for chunk in chunks:
            ids = frozenset(e.event_id for e in chunk)
            segment_id = segment_id_of(ids)
            new = log.segments.get(segment_id) != ids  # not stored as it is (or lost)
            if new:
                try:
                    self.storage.set(
                        segment_key(key, segment_id), encode_segment(segment_id, LogText.of(chunk))
                    )
                except StorageFullError:
                    break  # the rest stays in the head
            rest = {i: e for i, e in head.items() if i not in ids}
            listed = log.listed
            if all(i != segment_id for i, _ in listed):
                listed = [*listed, (segment_id, len(chunk))]
            self._set_head(key, log, listed, rest, None)
            if new:
                log.segments[segment_id] = ids
                log.own[segment_id] = self._own_ids(chunk)
                log.sealed.update(ids)
                self._sealed.setdefault(key, {})[segment_id] = ids
            head, sealed_any = rest, True
        if not sealed_any or len(head) != len(log.head):
            self._set_head(key, log, log.listed, head, None if sealed_any else text)

    def _set_head(
        self,
        key: str,
        log: _Log,
        listed: list[tuple[str, int]],
        head: dict[str, Event],
        text: LogText | None,
    ) -> None:
        """Write the head value (``text``: its encoder, when already up to date)."""
        if text is None:
            text = LogText.of(head.values())
        raw = encode_head(listed, text)
        try:
            self.storage.set(key, raw)
        except StorageFullError:
            log.text = None  # it may hold events that were not written
            raise
        log.raw, log.head, log.text, log.legacy, log.listed = raw, head, text, False, listed
        log.mine = dict(head)

    def remove_events(self, user_id: str | None) -> None:
        """Remove a stored log: its head, its segments and its checkpoint."""
        key = events_key(user_id)
        for segment_id in segment_ids_in(self.storage.keys(), key):
            self.storage.remove(segment_key(key, segment_id))
        self.storage.remove(key)
        self.storage.remove(checkpoint_key(user_id))
        self.storage.remove(start_key(user_id))
        self._logs.pop(key, None)

    # ------------------------------------------------------------------ checkpoints

    def read_checkpoint(self, user_id: str | None) -> Checkpoint | None:
        """The stored checkpoint of a log, or ``None`` (absent, or not readable: set aside)."""
        key = checkpoint_key(user_id)
        raw = self.storage.get(key)
        if raw is None:
            return None
        checkpoint = decode_checkpoint(raw)
        if checkpoint is None and is_newer_checkpoint(raw):
            return None  # a newer client's: not used here, nor set aside (a load makes one)
        if checkpoint is None and self._set_aside(key, raw, "not a valid checkpoint", strict=False):
            self.storage.remove(key)
        return checkpoint

    def write_checkpoint(self, user_id: str | None, checkpoint: Checkpoint) -> None:
        body = checkpoint.snapshot.model_dump_json(by_alias=True)
        self.storage.set(checkpoint_key(user_id), encode_checkpoint(checkpoint, body))

    # ------------------------------------------------------------------ snapshot cache

    def read_snapshot(self, user_id: str | None) -> LearningGuestProgress | None:
        """The cached snapshot, or ``None`` (absent or corrupt: the log is the truth)."""
        key = snapshot_key(user_id)
        raw = self.storage.get(key)
        return None if raw is None else self._decode_snapshot(key, raw)

    def _decode_snapshot(self, key: str, raw: str) -> LearningGuestProgress | None:
        try:
            return _StoredSnapshot.model_validate_json(raw).snapshot
        except ValidationError:
            if self._set_aside(key, raw, "not a valid snapshot cache", strict=False):
                self.storage.remove(key)
            return None

    def snapshot_json(self, snapshot: LearningGuestProgress) -> str:
        """``snapshot`` as canonical JSON, kept for the last snapshot (it is immutable): the
        cache write and the page's listener share one serialization."""
        last = self._snapshot_json
        if last is not None and last[0] is snapshot:
            return last[1]
        body = snapshot.model_dump_json(by_alias=True)
        self._snapshot_json = (snapshot, body)
        return body

    def _snapshot_text(self, snapshot: LearningGuestProgress) -> str:
        return f"{_CACHE_OPENING}{self.snapshot_json(snapshot)}}}"

    def write_snapshot(self, user_id: str | None, snapshot: LearningGuestProgress) -> None:
        self.storage.set(snapshot_key(user_id), self._snapshot_text(snapshot))

    def remove_snapshot(self, user_id: str | None) -> None:
        self.storage.remove(snapshot_key(user_id))
        self.storage.remove(start_key(user_id))

    # ------------------------------------------------------------------ start points

    def read_start(
        self, user_id: str | None
    ) -> tuple[StartPoint, LearningGuestProgress, str] | None:
        """A log's start point (:mod:`.start_format`), its snapshot cache and the head's text,
        when the start point still names exactly what is stored; otherwise ``None`` (one that
        cannot be read is set aside). Reads none of the log's events: the store does not take
        the log in (its first use reads the head)."""
        key = start_key(user_id)
        raw = self.storage.get(key)
        start = None if raw is None else decode_start(raw)
        if start is None and raw is not None:
            if self._set_aside(key, raw, "not a valid start point", strict=False):
                self.storage.remove(key)
            return None
        if not isinstance(start, StartPoint) or start.rules != REDUCER_RULES:
            return None
        log_key, cache_key = events_key(user_id), snapshot_key(user_id)
        self._logs.pop(log_key, None)  # read afresh when it is used: the engine switches to it
        head, cache = self.storage.get(log_key), self.storage.get(cache_key)
        if (
            head is None
            or cache is None
            or text_digest(head) != start.head
            or text_digest(cache) != start.snapshot
            or frozenset(segment_ids_in(self.storage.keys(), log_key)) != start.segments
        ):
            return None
        snapshot = self._decode_snapshot(cache_key, cache)
        if snapshot is None:
            return None
        if cache.startswith(_CACHE_OPENING) and cache.endswith("}"):  # as _snapshot_text writes
            self._snapshot_json = (snapshot, cache[len(_CACHE_OPENING) : -1])
        return start, snapshot, head

    def write_start(
        self,
        user_id: str | None,
        snapshot: LearningGuestProgress,
        through: OrderKey | None,
        own_ms: int,
        *,
        cached: bool = False,
    ) -> None:
        """Note that ``snapshot`` (the greatest order key in it ``through``, this client's
        latest event at ``own_ms``) is the reduction of the log as this store last wrote or
        read it, and hand over nothing: the caller holds every event of it. The snapshot cache
        is written too unless ``cached`` (the caller just wrote it). Nothing is written while
        the store knows the log to differ from what it last read or wrote (events not handed
        over yet, or a head to rewrite). Raises :class:`StorageFullError` when storage refuses.
        """
        log = self._logs.get(events_key(user_id))
        if log is None or log.raw is None or log.legacy or log.news:
            return
        text = self._snapshot_text(snapshot)
        cache_key = snapshot_key(user_id)
        if not cached and self.storage.get(cache_key) != text:
            self.storage.set(cache_key, text)
        start = StartPoint(
            REDUCER_RULES,
            frozenset(i for i, _ in log.listed),
            text_digest(log.raw),
            text_digest(text),
            through,
            max(0, own_ms),
        )
        self.storage.set(start_key(user_id), encode_start(start))

    def head_text(self, user_id: str | None) -> str | None:
        """The head's text as this store last read or wrote it (``None``: none, or not read)."""
        log = self._logs.get(events_key(user_id))
        return None if log is None else log.raw

    # ------------------------------------------------------------------ sync metadata

    def read_sync(self, user_id: str) -> LearningProgressSyncState:
        """Stored sync metadata (empty when absent; corrupt values set aside). The entries
        of the events of fully synced segments are not in it (:mod:`.sync_format`): see
        :meth:`in_synced_segments`."""
        key = sync_key(user_id)
        raw = self.storage.get(key)
        if raw is None:
            self._sync_cache.pop(key, None)
            return LearningProgressSyncState()
        cached = self._sync_cache.get(key)
        if cached is not None and cached[0] == raw:
            return cached[1]
        state, segments, problem = decode_sync(raw)
        self._synced_of(key).note_stored(segments)
        if problem is None:
            if raw.startswith(f'{{"v":{LOG_FORMAT_VERSION},'):
                self._sync_cache[key] = (raw, state)
            return state
        if self._set_aside(key, raw, problem, strict=False):
            with contextlib.suppress(StorageFullError):
                self._write_sync_raw(user_id, state)
        return state

    def _synced_of(self, key: str) -> SyncedSegments:
        synced = self._synced.get(key)
        if synced is None:
            synced = self._synced[key] = SyncedSegments()
        return synced

    def _read_segments_of(self, user_id: str) -> dict[str, frozenset[str] | None]:
        log = self._logs.get(events_key(user_id))
        return {} if log is None else log.segments

    def settle_synced_segments(
        self,
        user_id: str,
        state: LearningProgressSyncState,
        stored: LearningProgressSyncState,
    ) -> LearningProgressSyncState:
        """:meth:`SyncedSegments.settle` for the user's log."""
        segments = self._read_segments_of(user_id)
        if not segments:
            return state
        return self._synced_of(sync_key(user_id)).settle(segments, state, stored)

    def in_synced_segments(self, user_id: str, event_ids: Iterable[str]) -> set[str]:
        """Those of ``event_ids`` that belong to a segment read from the user's log which the
        stored metadata keeps as all synced (their entries are not stored)."""
        synced = self._synced_of(sync_key(user_id)).read_ids(self._read_segments_of(user_id))
        return {i for i in event_ids if i in synced}

    def _write_sync_raw(self, user_id: str, state: LearningProgressSyncState) -> None:
        key = sync_key(user_id)
        synced = self._synced_of(key)
        log = self._logs.get(events_key(user_id))
        skip = frozenset() if log is None else synced.update(log.segments, log.own, state)
        encoder = self._sync_text.pop(key, None) or SyncText()
        raw = encoder.encode(state, synced.marked, skip)
        self.storage.set(key, raw)  # on StorageFullError the encoder is dropped: it is ahead
        self._sync_cache[key] = (raw, state)
        self._sync_text[key] = encoder

    def write_sync(
        self, user_id: str, state: LearningProgressSyncState, *, reset_cursor: bool = False
    ) -> LearningProgressSyncState:
        """Store ``state`` merged with what is stored (see :func:`merge_sync_states`) and
        return the merge; ``reset_cursor`` drops the stored cursor too (the server rejected
        it). When only new entries were added since this store's last write, only those are
        encoded; the entries of fully synced segments are not written."""
        stored = self.read_sync(user_id)
        merged = self.settle_synced_segments(user_id, merge_sync_states(state, stored), stored)
        if reset_cursor:
            merged = merged.model_copy(update={"last_synced_cursor": None})
        self._write_sync_raw(user_id, merged)
        return merged

    # ------------------------------------------------------------------ the early-action queue

    def read_queue(self) -> list[QueuedAction]:
        """Every readable queued action (:mod:`.queue_format`), in key order. An unreadable
        value is set aside and its key removed; the key stays when storage is too full to set
        it aside (the value is reported either way)."""
        actions: list[QueuedAction] = []
        for key in sorted(filter(is_queue_key, self.storage.keys())):
            raw = self.storage.get(key)
            if raw is None:
                continue  # another tab took it in meanwhile
            action = decode_queued(key, raw)
            if isinstance(action, QueuedAction):
                actions.append(action)
            elif self._set_aside(key, raw, action, strict=False):
                self.storage.remove(key)
        return actions

    def queue(self, action: QueuedAction) -> None:
        """Store an action in the early-action queue. Raises :class:`StorageFullError` when
        storage refuses."""
        self.storage.set(action.key, queued_text(action))

    def remove_queued(self, actions: Iterable[QueuedAction]) -> None:
        """Remove the keys of queued actions whose events a stored log now holds."""
        for action in actions:
            self.storage.remove(action.key)

    # ------------------------------------------------------------------ guest keys

    def clear_guest(self) -> None:
        """Remove the guest log and snapshot cache (after their events reached the server)."""
        self.remove_events(None)
        self.remove_snapshot(None)
