"""A long history costs nothing at load: the engine starts from a checkpoint and reads the
rest of the log after ready, in small steps (DESIGN §5).

- :meth:`HistoryEngine._load` starts from the snapshot cache when the log's start point
  (:mod:`~pyclient.store.start_format`) says it is the reduction of the log exactly as stored:
  then no event is read before ready, and the head is read as the first step (or as soon as
  anything needs the log). Otherwise it reads the head of the stored log and, when it has sealed
  segments and a checkpoint that can be used (:func:`~pyclient.core.checkpoint.
  start_from_checkpoint`), shows the checkpoint's snapshot with the head's events folded in.
  The segments are read later. Without a usable checkpoint the whole log is read and reduced
  at once, as a log without segments is.
- :meth:`HistoryEngine.history_steps` is the rest, as a generator that does a bounded piece of
  work per step (the driver runs steps until its time slice is over, then lets the page
  breathe): it builds the head's encoder (the next write then appends to it rather than
  encode up to 2,000 events in one task), reads one segment per step, then reduces the whole
  log again in chunks (spec §1: the snapshot is recomputed on every load; one fold is carried
  across the chunks, and the steps that take its snapshot are bounded by the number of items
  rather than of events), replaces the shown snapshot when it differs, and stores the
  checkpoint of the segments when the stored one is missing or wrong. A late event (one
  sorting before the end of the segments) is sealed into a segment of its own first, so that
  the checkpoint covers every event again.
- Until the segments are read, events joining the log are folded into the shown snapshot
  whatever their order (the recomputation puts them in their place) and no sync runs: a sync
  needs the whole log. Once the segments are read a sync is due at once.
- Sealing a segment during a session extends the checkpoint by the sealed events when they
  all sort after it, so that the next load starts from it too.
- Once the whole log is known (read and reduced), every write of the snapshot cache notes its
  start point, so that the next load starts from it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections.abc import Generator, Iterable, Iterator

from .core.checkpoint import Checkpoint, start_from_checkpoint
from .core.eventlog import OrderKey, event_order_key, union_into
from .core.models import Event, LearningGuestProgress
from .core.reducer import Folding, apply_events, bring_forward, reduce_events
from .engine import ProgressEngine
from .errors import StorageFullError
from .store.log_format import run_steps

__all__ = ["HistoryEngine"]

#: Events keyed or folded per step of :meth:`HistoryEngine.history_steps`.
STEP_EVENTS = 512


class HistoryEngine(ProgressEngine):
    """:class:`ProgressEngine` that loads a segmented log from its checkpoint."""

    def _load(self, user_id: str | None) -> None:
        self._generation = getattr(self, "_generation", 0) + 1
        super()._load_empty(user_id)
        store = self.store
        #: the head's text the shown snapshot was started from, not read yet (None: read)
        self._head_unread: str | None = None
        self._start_segments: frozenset[str] = frozenset()
        self._start_through: OrderKey | None = None
        self._recording = False  # in _add_local: new events of this tab, none in the log yet
        self._pending: list[str] = []
        started = store.read_start(user_id)
        self._started_small = started is not None and not started[0].segments
        if started is not None:
            point, self._snapshot, self._head_unread = started
            self._last_key = self._start_through = point.through
            self._start_segments = point.segments
            self._last_stamp_ms = max(self._last_stamp_ms, point.own_ms)
            self._loaded = self._verified = False
            self._checkpoint = None  # made again by the full reduction
            return
        head = store.read_head(user_id)
        pending = store.segments_to_read(user_id)
        segments = store.segment_list(user_id)
        checkpoint = (
            store.read_checkpoint(user_id)
            if segments
            else Checkpoint(frozenset(), None, 0, reduce_events([]))
        )
        start = start_from_checkpoint(checkpoint, segments, head.values()) if pending else None
        if start is None:
            self._loaded = True
            events: dict[str, Event] = {}
            for segment_id in pending:
                union_into(events, self._read_segment(segment_id).values())
            union_into(events, head.values())
            self._merge(events.values(), stored=True)
            self._mark_own_unsynced(events.values())
            self._pending = []
            self._verified = not segments  # a log without segments needs no checkpoint
            self._checkpoint = checkpoint if not segments else None
            return
        self._events = dict(head)
        self._snapshot, self._last_key = start
        assert checkpoint is not None  # a start is made from one
        self._start_through = checkpoint.through
        # a record before the segments are read comes after this client's events in them too
        self._last_stamp_ms = max(self._last_stamp_ms, checkpoint.own_ms or 0)
        self._note_own_stamps(head.values())
        self._mark_own_unsynced(head.values())
        self._pending = pending
        self._loaded = False
        self._verified = False
        self._checkpoint = checkpoint

    # ------------------------------------------------------------------ reading state

    @property
    def history_pending(self) -> bool:
        """Whether the head or segments are still to be read, or the full reduction is still
        to run."""
        return not self._verified

    @property
    def events(self) -> list[Event]:
        self._read_all_segments()
        return super().events

    def _read_small_log(self) -> None:
        """Read the log now when it was started from its start point and has no segments
        (reading its head is all there is to do: something about to need it need not wait)."""
        if not self._loaded and self._started_small:
            self._read_all_segments()

    def _read_all_segments(self) -> None:
        """Read the remaining segments now (something needs the whole log at once)."""
        if not self._loaded:
            for _ in self._read_segments(self._generation, prime=False):
                pass

    # ------------------------------------------------------------------ the steps

    def history_steps(self) -> Iterator[None]:
        """The rest of the load (module docstring), a bounded piece of work per step; it
        ends early when the identity changes (the new log has steps of its own)."""
        generation = self._generation
        yield from self._read_segments(generation)
        while generation == self._generation and not self._verified:
            if (yield from self._verify(generation)):
                break

    def _read_head(self) -> Generator[None]:
        """Read the head of a log started from its start point, in steps: its events join the
        log and the segments it lists are read from now on. When another tab wrote since, what
        the start point cannot have covered (sorting after its last event) is folded in; the
        rest is left to the full reduction. Anything that needs the log before these steps are
        done reads it at once (:meth:`_merge`); then these steps end."""
        started_from, generation = self._head_unread, self._generation
        if started_from is None:
            return
        user, store = self.user_id, self.store
        head = yield from store.read_head_steps(user)
        if self._generation != generation or self._head_unread is not started_from:
            return  # read meanwhile, or another log is loaded
        if self._unwritten:  # recorded meanwhile: written below, appended to the head as read
            yield from store.prime_head_steps(user)
            if self._generation != generation or self._head_unread is not started_from:
                return
        self._head_unread = None
        events = dict(head)
        news: list[Event] = []
        if store.head_text(user) != started_from:  # another tab wrote since
            for segment_id in store.segments_to_read(user):
                if segment_id not in self._start_segments:  # sealed since
                    union_into(events, self._read_segment(segment_id).values())
            through = self._start_through
            news = [e for e in events.values() if through is None or event_order_key(e) > through]
        fresh = {e.event_id for e in news}
        _, replaced = union_into(self._events, (e for i, e in events.items() if i not in fresh))
        if replaced:
            self._replacements += 1
        self._pending = store.segments_to_read(user)
        self._merge(news, stored=True)
        self._note_own_stamps(head.values())
        self._mark_own_unsynced(events.values())
        if self._unwritten:  # recorded meanwhile (kept in the queue until now)
            self._persist()

    def _settle_log(self) -> None:
        """Before the identity changes: what was recorded while the log was unread is written
        to it now (its queued keys then go)."""
        if self._head_unread is not None and self._unwritten:
            run_steps(self._read_head())

    def _read_segments(self, generation: int, *, prime: bool = True) -> Iterator[None]:
        """The head (when unread), the head's encoder (``prime``: as steps, not when read at
        once; a write soon after appends to it), then every segment not read yet."""
        if self._head_unread is not None and generation == self._generation:
            yield from self._read_head()
            yield
        if prime and generation == self._generation and not self._loaded:
            yield from self.store.prime_head_steps(self.user_id)
        while self._pending and generation == self._generation:
            segment_id = self._pending[0]  # taken off once read: a step left half done
            events = yield from self._read_segment_steps(segment_id, generation)  # is redone
            if generation != self._generation:
                return
            if segment_id in self._pending:
                self._pending.remove(segment_id)
            fresh, replaced = union_into(self._events, events.values())
            if replaced:
                self._replacements += 1
            self._note_own_stamps(fresh)
            self._mark_own_unsynced(fresh)
            yield
        if generation == self._generation and not self._loaded:
            self._loaded = True
            self._history_loaded()

    def _read_segment(self, segment_id: str) -> dict[str, Event]:
        return run_steps(self._read_segment_steps(segment_id, self._generation))

    def _read_segment_steps(
        self, segment_id: str, generation: int
    ) -> Generator[None, None, dict[str, Event]]:
        """A segment's events (nothing when the identity changed meanwhile)."""
        events = yield from self.store.read_segment_steps(self.user_id, segment_id)
        if generation != self._generation:
            return {}
        return events

    def _history_loaded(self) -> None:
        """Every segment is read (a hook: a sync waits for this)."""

    def _verify(self, generation: int) -> Generator[None, None, bool]:
        """Reduce the whole log in steps; True when done, False when a replaced copy came in
        meanwhile (start again). Each step keys and sorts a chunk; the sorted chunks are then
        merged as they are folded, so no step sorts the whole log."""
        user = self.user_id
        replacements = self._replacements
        frozen = dict(self._events)
        segments = frozenset(self.store.segment_list(user))
        sealed = self.store.sealed_ids(user)  # grows if a segment is sealed meanwhile
        items = list(frozen.values())
        runs: list[list[tuple[OrderKey, Event]]] = []
        sealed_total = own_sealed_ms = own_ms = 0  # this client's latest: sealed, and in all
        for start in range(0, len(items), STEP_EVENTS):
            chunk = items[start : start + STEP_EVENTS]
            runs.append(sorted(((event_order_key(e), e) for e in chunk), key=_first, reverse=True))
            in_sealed = [e for e in chunk if e.event_id in sealed]
            sealed_total += len(in_sealed)
            own_sealed_ms = max(own_sealed_ms, self._latest_own_ms(in_sealed))
            own_ms = max(own_ms, self._latest_own_ms(chunk))
            yield
        # Each run is taken from its end, so that what the fold is done with is freed as it
        # goes rather than all at once after the last step.
        merged = heapq.merge(*map(_drain, runs), key=_first)
        folding = Folding()
        # The snapshot of the sealed events, when they are the first in order (then it is the
        # checkpoint), and the last of them; ``leading``: still among them.
        sealed_snapshot, through, leading, seen = None, None, True, 0
        last: OrderKey | None = None
        while chunk_keyed := list(itertools.islice(merged, STEP_EVENTS)):
            rest = chunk_keyed
            if leading:
                split = 0
                while split < len(chunk_keyed) and chunk_keyed[split][1].event_id in sealed:
                    split += 1
                seen += split
                if split:
                    through = chunk_keyed[split - 1][0]
                if split < len(chunk_keyed):
                    leading = False
                    folding.fold(_events(chunk_keyed[:split]))
                    if seen == sealed_total:
                        sealed_snapshot = folding.snapshot()
                        yield
                    rest = chunk_keyed[split:]
            folding.fold(_events(rest))
            last = chunk_keyed[-1][0]
            del chunk_keyed, rest
            yield
            if generation != self._generation:
                return True
        snapshot = folding.snapshot()
        if leading:  # every event is sealed
            sealed_snapshot = snapshot
        del items  # the last references to the events this reduction took
        yield
        if generation != self._generation:
            return True
        if self._replacements != replacements:
            return False
        self._replace_shown(snapshot, last, frozen)
        yield
        if generation != self._generation:
            return True
        unchanged = segments == frozenset(self.store.segment_list(user))
        if sealed_snapshot is not None and unchanged:
            self._store_checkpoint(
                Checkpoint(segments, through, seen, sealed_snapshot, own_ms=own_sealed_ms)
            )
        elif unchanged and len(frozen) == len(self._events):
            # A late event: seal the rest too, then the whole log is the checkpoint's.
            with contextlib.suppress(StorageFullError):
                self._take_stored(self.store.seal(user))
                self.store.take_sealed(user)
                covered = frozenset(self.store.segment_list(user))
                if self.store.sealed_ids(user) == frozen.keys():
                    self._store_checkpoint(
                        Checkpoint(covered, last, len(frozen), snapshot, own_ms=own_ms)
                    )
        yield
        if generation != self._generation:
            return True
        with contextlib.suppress(StorageFullError):
            # an older stored format is rewritten now; what other tabs stored comes in
            self._take_stored(self.store.add_events(user, ()))
        self._verified = True
        self._note_start()
        self._notify()
        return True

    def _snapshot_cached(self) -> None:
        self._note_start(cached=True)

    def _note_start(self, *, cached: bool = False) -> None:
        """Note the snapshot cache's start point (module docstring), once the log is known."""
        if (
            self._loaded
            and self._verified
            and self._head_unread is None
            and not self._unwritten  # held in memory only (storage refused): not the log's
            and self._full_warning is None
        ):
            with contextlib.suppress(StorageFullError):
                self.store.write_start(
                    self.user_id, self._snapshot, self._last_key, self._last_stamp_ms,
                    cached=cached,
                )  # fmt: skip

    def _replace_shown(
        self, snapshot: LearningGuestProgress, last: OrderKey | None, frozen: dict[str, Event]
    ) -> None:
        """The full reduction of ``frozen`` is done: bring it forward with what joined the
        log meanwhile, and show it when it differs from what is shown."""
        if len(self._events) != len(frozen):
            extra = [e for i, e in self._events.items() if i not in frozen]
            snapshot, last, _ = bring_forward(snapshot, last, extra, self._events.values)
        self._last_key = last
        if snapshot != self._snapshot:
            self._snapshot = snapshot
            with contextlib.suppress(StorageFullError):
                self.store.write_snapshot(self.user_id, snapshot)

    def _store_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._checkpoint = checkpoint
        user = self.user_id
        if self.store.read_checkpoint(user) != checkpoint:
            with contextlib.suppress(StorageFullError):
                self.store.write_checkpoint(user, checkpoint)

    # ------------------------------------------------------------------ changes meanwhile

    def _log_unread(self) -> bool:
        """Whether the stored log is still to be read (started from its start point)."""
        return self._head_unread is not None

    def _add_local(self, events: list[Event]) -> None:
        self._recording = True
        try:
            super()._add_local(events)
        finally:
            self._recording = False

    def _merge(self, events: Iterable[Event], *, stored: bool = False) -> list[Event]:
        events = list(events)
        if events and self._head_unread is not None and not self._recording:
            # first: what the stored log holds is told apart from what joins it (a record of
            # this tab is new to it, and is kept in the queue until the log is read)
            run_steps(self._read_head())
        if self._loaded:
            return super()._merge(events, stored=stored)
        # Segments unread: fold whatever the order; the full reduction puts them in place. An
        # event sorting before the end of what the start covered may be one of the segments
        # not read yet (a guest's copied at sign-in, say): folded again, a reset among them
        # would wipe what came after it. It waits for the full reduction; a record of this tab
        # is new, whatever its time.
        fresh, replaced = union_into(self._events, events)
        if replaced:
            self._replacements += 1
        changed = sorted((*fresh, *replaced), key=event_order_key)
        if changed:
            if not stored:
                self._unwritten.update((e.event_id, e) for e in changed)
            through = None if self._recording else self._start_through
            folded = [e for e in changed if through is None or event_order_key(e) > through]
            if folded:
                self._snapshot = apply_events(self._snapshot, folded)
                last = event_order_key(folded[-1])
                self._last_key = last if self._last_key is None else max(self._last_key, last)
            self._note_own_stamps(fresh)
        return fresh

    def _log_written(self) -> None:
        """Extend the checkpoint by the segments just sealed, when their events all sort
        after it; otherwise it is left for the next full reduction to correct."""
        sealed = self.store.take_sealed(self.user_id)
        checkpoint = self._checkpoint
        if not sealed or checkpoint is None:
            return
        ids = [i for segment in sealed.values() for i in segment]
        events = [self._events.get(i) for i in ids]
        known = [e for e in events if e is not None]
        ordered = sorted(((event_order_key(e), e) for e in known), key=_first)
        if (
            len(known) != len(ids)
            or checkpoint.segments | sealed.keys()
            != frozenset(self.store.segment_list(self.user_id))
            or (ordered and checkpoint.through is not None and ordered[0][0] <= checkpoint.through)
        ):
            self._checkpoint = None
            return
        self._store_checkpoint(
            Checkpoint(
                checkpoint.segments | sealed.keys(),
                ordered[-1][0] if ordered else checkpoint.through,
                checkpoint.count + len(known),
                apply_events(checkpoint.snapshot, _events(ordered)),
                own_ms=None
                if checkpoint.own_ms is None  # not known (a version 1 checkpoint): still not
                else max(checkpoint.own_ms, self._latest_own_ms(known)),
            )
        )


def _first(item: tuple[OrderKey, Event]) -> OrderKey:
    return item[0]


def _drain[T](items: list[T]) -> Iterator[T]:
    """The items of a list from its end, each let go of by the list once taken."""
    while items:
        yield items.pop()


def _events(keyed: Iterable[tuple[OrderKey, Event]]) -> Iterator[Event]:
    return (event for _, event in keyed)
