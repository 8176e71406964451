"""The reducer: the snapshot as a pure function of the set of events.

Every rule lives in this module (DESIGN §3):

- Events are deduplicated by ``eventId`` (of two differing copies, the one whose canonical JSON
  sorts first is kept), then sorted by the instant of ``occurredAt``, ties broken by ``eventId``.
- ``content.progressed``: status follows the precedence ``not_started < in_progress < completed
  < passed`` and never goes down; every event still updates ``lastAttemptAt``, ``score`` (max),
  ``contentVersion`` (latest given) and the interaction (``state: null`` removes it).
  ``firstAttemptAt`` is the first event of the item, ``completedAt`` the first that reached
  ``completed`` or ``passed``.
- Streak: a UTC day counts when an item's status rises to ``completed`` or ``passed`` on it.
  Same day as ``lastActivityDate``: unchanged; the next day: ``current + 1``; later: ``1``.
  ``longest`` is the maximum ``current`` reached. The reducer never reads the clock.
- ``onboarding.completed`` / ``onboarding.reset``: the latest one wins.
- ``activePath.set`` sets (or with ``null`` clears) the active path.
- ``progress.reset`` empties content, onboarding, active path and streak; later events apply
  to the fresh snapshot.
- Unknown event types are skipped; ``lastUpdated`` is the latest ``occurredAt`` of every event.

:func:`reduce_events` folds a whole log (:func:`reduce_json`, one given as JSON text);
:func:`apply_event` folds one more event into a snapshot and gives the same result as a full
reduction when the event sorts after every event already applied (check with
:func:`event_order_key`; otherwise reduce the whole log again); :func:`apply_events` folds
several such events at a cost linear in their number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from pydantic import MISSING

from .codec import gc_paused, parse_events
from .eventlog import OrderKey, dedupe_events, event_order_key
from .models import (
    ActivePathSet,
    ContentProgressed,
    ContentStatus,
    Event,
    LearningContentProgress,
    LearningGuestProgress,
    OnboardingCompleted,
    OnboardingReset,
    OnboardingState,
    ProgressReset,
    QuizState,
    StreakState,
)
from .timestamps import epoch_day, format_day, instant_of, normalize_timestamp, parse_day

__all__ = [
    "STATUS_RANK",
    "apply_event",
    "apply_events",
    "bring_forward",
    "dedupe_events",
    "event_order_key",
    "reduce_events",
    "reduce_json",
]

#: Status precedence: an event never lowers an item's status.
STATUS_RANK: Final[dict[ContentStatus, int]] = {
    "not_started": 0,
    "in_progress": 1,
    "completed": 2,
    "passed": 3,
}
_COMPLETED_RANK: Final = STATUS_RANK["completed"]


class _Item:
    """A mutable working copy of one item's progress; timestamps kept as written."""

    __slots__ = ("completed", "first", "interactions", "last", "score", "status", "version")

    def __init__(
        self,
        status: ContentStatus,
        score: float | None,
        version: str | None,
        first: str,
        last: str,
        completed: str | None,
        interactions: dict[str, QuizState],
    ) -> None:
        self.status = status
        self.score = score
        self.version = version
        self.first = first
        self.last = last
        self.completed = completed
        self.interactions = interactions

    @classmethod
    def from_model(cls, model: LearningContentProgress) -> _Item:
        return cls(
            model.status,
            model.score,
            model.content_version,
            model.first_attempt_at,
            model.last_attempt_at,
            model.completed_at,
            dict(model.interactions),
        )

    def to_model(self) -> LearningContentProgress:
        return LearningContentProgress.model_construct(
            status=self.status,
            score=self.score,
            content_version=self.version,
            first_attempt_at=normalize_timestamp(self.first),
            last_attempt_at=normalize_timestamp(self.last),
            completed_at=None if self.completed is None else normalize_timestamp(self.completed),
            interactions=self.interactions,
        )


class _Fold:
    """The state of one reduction in progress. Untouched items stay shared, frozen models."""

    __slots__ = (
        "active_path_id",
        "content",
        "dirty",
        "last_instant",
        "last_updated",
        "onboarding",
        "streak_current",
        "streak_day",
        "streak_longest",
    )

    def __init__(self, snapshot: LearningGuestProgress) -> None:
        self.content = snapshot.content
        self.dirty: dict[str, _Item] = {}
        self.onboarding = snapshot.onboarding
        self.active_path_id = snapshot.active_path_id
        streak = snapshot.streak
        self.streak_current = streak.current
        self.streak_longest = streak.longest
        self.streak_day = (
            None if streak.last_activity_date is None else parse_day(streak.last_activity_date)
        )
        self.last_updated = snapshot.last_updated
        self.last_instant = (
            None if snapshot.last_updated is None else instant_of(snapshot.last_updated)
        )

    def item(self, content_id: str) -> _Item | None:
        item = self.dirty.get(content_id)
        if item is None:
            model = self.content.get(content_id)
            if model is not None:
                item = self.dirty[content_id] = _Item.from_model(model)
        return item

    def count_activity(self, instant: int) -> None:
        day = epoch_day(instant)
        if self.streak_day is None or day > self.streak_day + 1:
            self.streak_current = 1
        elif day == self.streak_day + 1:
            self.streak_current += 1
        else:  # the same day (or, if misused, an earlier one): unchanged
            return
        self.streak_day = day
        self.streak_longest = max(self.streak_longest, self.streak_current)

    def snapshot(self) -> LearningGuestProgress:
        content = self.content
        if self.dirty:
            content = dict(content)
            for content_id, item in self.dirty.items():
                content[content_id] = item.to_model()
        return LearningGuestProgress.model_construct(
            version=1,
            content=content,
            onboarding=self.onboarding,
            active_path_id=self.active_path_id,
            streak=StreakState.model_construct(
                current=self.streak_current,
                longest=self.streak_longest,
                last_activity_date=None if self.streak_day is None else format_day(self.streak_day),
            ),
            last_updated=None
            if self.last_updated is None
            else normalize_timestamp(self.last_updated),
        )


def _content_progressed(fold: _Fold, event: ContentProgressed, instant: int) -> None:
    payload = event.payload
    item = fold.item(payload.content_id)
    if item is None:
        item = fold.dirty[payload.content_id] = _Item(
            "not_started", None, None, event.occurred_at, event.occurred_at, None, {}
        )
    rank = STATUS_RANK[payload.status]
    if rank > STATUS_RANK[item.status]:
        item.status = payload.status
        if rank >= _COMPLETED_RANK:
            if item.completed is None:
                item.completed = event.occurred_at
            fold.count_activity(instant)
    item.last = event.occurred_at
    if payload.score is not MISSING and (item.score is None or payload.score > item.score):
        item.score = payload.score
    if payload.content_version is not MISSING:
        item.version = payload.content_version
    if payload.interaction is not MISSING:
        interaction = payload.interaction
        if interaction.state is None:
            item.interactions.pop(interaction.interaction_id, None)
        else:
            item.interactions[interaction.interaction_id] = interaction.state


def _onboarding_completed(fold: _Fold, event: OnboardingCompleted, instant: int) -> None:
    fold.onboarding = OnboardingState.model_construct(
        completed=True,
        path_id=event.payload.path_id,
        completed_at=normalize_timestamp(event.occurred_at),
    )


def _onboarding_reset(fold: _Fold, event: OnboardingReset, instant: int) -> None:
    fold.onboarding = _NO_ONBOARDING


def _active_path_set(fold: _Fold, event: ActivePathSet, instant: int) -> None:
    fold.active_path_id = event.payload.path_id


def _progress_reset(fold: _Fold, event: ProgressReset, instant: int) -> None:
    fold.content = {}
    fold.dirty = {}
    fold.onboarding = _NO_ONBOARDING
    fold.active_path_id = None
    fold.streak_current = fold.streak_longest = 0
    fold.streak_day = None


_NO_ONBOARDING: Final = OnboardingState()
_EMPTY: Final = LearningGuestProgress()

#: One mutator per known event type; any other type is skipped (it only moves lastUpdated).
_MUTATORS: Final[dict[type, Callable[[_Fold, Any, int], None]]] = {
    ContentProgressed: _content_progressed,
    OnboardingCompleted: _onboarding_completed,
    OnboardingReset: _onboarding_reset,
    ActivePathSet: _active_path_set,
    ProgressReset: _progress_reset,
}


def _apply(fold: _Fold, event: Event, instant: int) -> None:
    mutator = _MUTATORS.get(type(event))
    if mutator is not None:
        mutator(fold, event, instant)
    if fold.last_instant is None or instant >= fold.last_instant:
        fold.last_instant = instant
        fold.last_updated = event.occurred_at


def reduce_events(events: Iterable[Event]) -> LearningGuestProgress:
    """The snapshot of a log: a pure function of the set of events, whatever their order."""
    with gc_paused():
        log = list(events)
        if len({e.event_id for e in log}) != len(log):  # copies of one event: keep one
            log = dedupe_events(log)
        key = instant_of
        ordered = [(key(e.occurred_at), e.event_id, e) for e in log]
        ordered.sort()  # eventIds are unique here: events themselves are never compared
        fold = _Fold(_EMPTY)
        mutators = _MUTATORS
        for instant, _, event in ordered:
            mutator = mutators.get(type(event))
            if mutator is not None:
                mutator(fold, event, instant)
        if ordered:  # the last in order has the latest occurredAt
            fold.last_instant, _, last = ordered[-1]
            fold.last_updated = last.occurred_at
        return fold.snapshot()


def reduce_json(data: bytes | str) -> LearningGuestProgress:
    """The snapshot of a JSON array of events: :func:`parse_events` then :func:`reduce_events`
    with the cyclic collector paused across both, the parsed events dropped before it resumes
    (otherwise its next pass walks every one of them: a third of the time, measured).

    Invalid input raises what :func:`parse_events` raises.
    """
    with gc_paused():
        return reduce_events(parse_events(data))


def apply_event(snapshot: LearningGuestProgress, event: Event) -> LearningGuestProgress:
    """Fold one more event into a snapshot.

    Equal to a full reduction when ``event`` sorts after every event already reduced into
    ``snapshot`` (by :func:`event_order_key`); otherwise the caller reduces the log again.
    """
    fold = _Fold(snapshot)
    _apply(fold, event, instant_of(event.occurred_at))
    return fold.snapshot()


def apply_events(snapshot: LearningGuestProgress, events: Iterable[Event]) -> LearningGuestProgress:
    """Fold more events, given in log order, into a snapshot: :func:`apply_event` on each in
    turn, but in one working copy, so the ``content`` mapping is copied once, not per event.

    ``snapshot`` is left as it was: the result shares only the items no event touched.
    """
    with gc_paused():
        fold = _Fold(snapshot)
        for event in events:
            _apply(fold, event, instant_of(event.occurred_at))
        return fold.snapshot()


def bring_forward(
    snapshot: LearningGuestProgress | Callable[[], LearningGuestProgress] | None,
    last_key: OrderKey | None,
    new_events: Sequence[Event],
    whole_log: Callable[[], Iterable[Event]],
) -> tuple[LearningGuestProgress, OrderKey | None, bool]:
    """The snapshot of a log after ``new_events`` joined it: the one "fold or re-reduce" rule.

    ``snapshot`` is the log's snapshot before (or a function that makes it, called only when
    needed), ``last_key`` the greatest :func:`event_order_key` reduced into it (``None``: the
    log was empty). When every new event sorts after ``last_key``, they are folded in with
    :func:`apply_event`; otherwise (a late event, or no ``snapshot``: a replaced copy, say)
    ``whole_log()``, which already holds the new events, is reduced again.

    Returns ``(snapshot, last_key, folded)``; ``folded`` is False after a full reduction.
    """
    ordered = sorted(new_events, key=event_order_key)
    if snapshot is not None and (
        not ordered or last_key is None or event_order_key(ordered[0]) > last_key
    ):
        current = snapshot() if callable(snapshot) else snapshot
        if not ordered:
            return current, last_key, True
        return apply_events(current, ordered), event_order_key(ordered[-1]), True
    events = list(whole_log())
    return reduce_events(events), max(map(event_order_key, events), default=None), False
