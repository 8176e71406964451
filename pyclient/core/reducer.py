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

:func:`reduce_events` folds a whole log (:func:`reduce_json`, one given as JSON text, read
straight from the decoded JSON when it is in the form clients write); :func:`apply_event` folds
one more event into a snapshot and gives the same result as a full reduction when the event
sorts after every event already applied (check with :func:`event_order_key`; otherwise reduce
the whole log again); :func:`apply_events` folds several such events at a cost linear in their
number, and :class:`Folding` carries such a fold across calls (a reduction in steps). All of
them feed the one fold (:func:`_fold`) with the same plain records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from functools import lru_cache
from itertools import compress
from operator import itemgetter
from typing import Any, Final, get_args

from pydantic import MISSING

from .codec import decode_json, gc_paused, parse_events
from .eventlog import OrderKey, dedupe_events, event_order_key, preferred_copy
from .models import (
    EVENT_TYPES,
    ActivePathSet,
    ContentProgressed,
    ContentStatus,
    Event,
    Id,
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
    "Folding",
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
#: The status of each rank.
_STATUSES: Final[tuple[ContentStatus, ...]] = tuple(
    sorted(STATUS_RANK, key=lambda status: STATUS_RANK[status])
)

# --------------------------------------------------------------------------- records
#
# The fold reads each event as a record, a plain tuple ``(kind, occurredAt, ...)``, whether the
# event came as a model (reduce_events, apply_event) or as decoded JSON (reduce_json's fast
# path); the rules below (:func:`_fold`) see nothing else.
#
#   (_PROGRESSED, at, contentId, STATUS_RANK[status], score | MISSING, contentVersion | MISSING,
#    interactionId | None, selectedOptionId | None | _REMOVED)
#   (_ONBOARDED, at, pathId)      (_ONBOARDING_RESET, at)      (_PATH_SET, at, pathId | None)
#   (_RESET, at)                  (_OTHER, at): an unknown type, skipped

_PROGRESSED: Final = 0
_ONBOARDED: Final = 1
_ONBOARDING_RESET: Final = 2
_PATH_SET: Final = 3
_RESET: Final = 4
_OTHER: Final = 5

type _Record = tuple[Any, ...]


class _Removed:
    """The interaction's state was ``null``: the interaction is removed."""

    __slots__ = ()


_REMOVED: Final = _Removed()
_THIRD = itemgetter(2)


def _record(model: Event) -> _Record:
    """The record of an event model."""
    event: Any = model
    kind = type(event)
    if kind is ContentProgressed:
        payload = event.payload
        interaction = payload.interaction
        if interaction is MISSING:
            interaction_id = selected = None
        else:
            interaction_id = interaction.interaction_id
            state = interaction.state
            selected = _REMOVED if state is None else state.selected_option_id
        return (
            _PROGRESSED,
            event.occurred_at,
            payload.content_id,
            STATUS_RANK[payload.status],
            payload.score,
            payload.content_version,
            interaction_id,
            selected,
        )
    if kind is ActivePathSet:
        return (_PATH_SET, event.occurred_at, event.payload.path_id)
    if kind is OnboardingCompleted:
        return (_ONBOARDED, event.occurred_at, event.payload.path_id)
    if kind is OnboardingReset:
        return (_ONBOARDING_RESET, event.occurred_at)
    if kind is ProgressReset:
        return (_RESET, event.occurred_at)
    return (_OTHER, event.occurred_at)


# --------------------------------------------------------------------------- the fold


class _Item:
    """A mutable working copy of one item's progress; timestamps kept as written, each
    interaction as its selected option."""

    __slots__ = (
        "completed",
        "first",
        "interactions",
        "last",
        "rank",
        "score",
        "version",
    )

    def __init__(
        self,
        rank: int,
        score: float | None,
        version: str | None,
        first: str,
        last: str,
        completed: str | None,
        interactions: dict[str, str | None],
    ) -> None:
        self.rank = rank
        self.score = score
        self.version = version
        self.first = first
        self.last = last
        self.completed = completed
        self.interactions = interactions

    @classmethod
    def from_model(cls, model: LearningContentProgress) -> _Item:
        return cls(
            STATUS_RANK[model.status],
            model.score,
            model.content_version,
            model.first_attempt_at,
            model.last_attempt_at,
            model.completed_at,
            {key: state.selected_option_id for key, state in model.interactions.items()},
        )

    def to_model(self, normalize: Callable[[str], str]) -> LearningContentProgress:
        return _ITEM.model_copy(
            update={
                "status": _STATUSES[self.rank],
                "score": self.score,
                "content_version": self.version,
                "first_attempt_at": normalize(self.first),
                "last_attempt_at": normalize(self.last),
                "completed_at": None if self.completed is None else normalize(self.completed),
                "interactions": {
                    key: _quiz_state(selected) for key, selected in self.interactions.items()
                },
            }
        )


# The snapshot's models are made as copies of these, every field given: the same models as
# model_construct makes, in half the time (measured).
_ITEM: Final = LearningContentProgress.model_construct(
    status="not_started",
    score=None,
    content_version=None,
    first_attempt_at="",
    last_attempt_at="",
    completed_at=None,
    interactions={},
)
_NO_ONBOARDING: Final = OnboardingState.model_construct(
    completed=False, path_id=None, completed_at=None
)
_NO_STREAK: Final = StreakState.model_construct(current=0, longest=0, last_activity_date=None)
_EMPTY: Final = LearningGuestProgress.model_construct(
    version=1,
    content={},
    onboarding=_NO_ONBOARDING,
    active_path_id=None,
    streak=_NO_STREAK,
    last_updated=None,
)


@lru_cache(maxsize=1 << 12)
def _quiz_state(selected: str | None) -> QuizState:
    """The (frozen, so shared) state of a quiz whose selected option is ``selected``."""
    return QuizState.model_construct(kind="quiz", selected_option_id=selected)


def _as_written(value: str) -> str:
    return value


class _Fold:
    """The state of one reduction in progress. Untouched items stay shared, frozen models."""

    __slots__ = (
        "active_path_id",
        "content",
        "dirty",
        "last_instant",
        "last_updated",
        "normalize",
        "onboarding",
        "streak_current",
        "streak_day",
        "streak_longest",
    )

    def __init__(
        self, snapshot: LearningGuestProgress, normalize: Callable[[str], str] = normalize_timestamp
    ) -> None:
        self.content = snapshot.content
        self.dirty: dict[str, _Item] = {}
        #: the model, or (pathId, occurredAt) of the latest onboarding.completed folded
        self.onboarding: OnboardingState | tuple[str, str] = snapshot.onboarding
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
        #: the snapshot's form of an event's timestamp (the identity when all are in it already)
        self.normalize = normalize

    def snapshot(self) -> LearningGuestProgress:
        content = self.content
        normalize = self.normalize
        if self.dirty:
            content = dict(content)
            for content_id, item in self.dirty.items():
                content[content_id] = item.to_model(normalize)
        onboarding = self.onboarding
        if isinstance(onboarding, tuple):
            onboarding = _NO_ONBOARDING.model_copy(
                update={
                    "completed": True,
                    "path_id": onboarding[0],
                    "completed_at": normalize(onboarding[1]),
                }
            )
        streak = _NO_STREAK.model_copy(
            update={
                "current": self.streak_current,
                "longest": self.streak_longest,
                "last_activity_date": (
                    None if self.streak_day is None else format_day(self.streak_day)
                ),
            }
        )
        return _EMPTY.model_copy(
            update={
                "version": 1,
                "content": content,
                "onboarding": onboarding,
                "active_path_id": self.active_path_id,
                "streak": streak,
                "last_updated": None if self.last_updated is None else normalize(self.last_updated),
            }
        )


def _fold(fold: _Fold, records: Iterable[_Record], day_of: Callable[[str], int]) -> None:
    """Fold records, given in log order, into ``fold``: every reduction rule of DESIGN §3 but
    ``lastUpdated`` (the caller's, from the last record in order). ``day_of`` gives the UTC
    day, counted from 1970-01-01, of an ``occurredAt``.

    A ``progress.reset`` empties all the state folded here, so a whole log's reduction starts
    after its last reset in order (from the empty snapshot), with the same result.
    """
    content = fold.content
    dirty = fold.dirty
    for record in records:
        kind = record[0]
        if kind == _PROGRESSED:
            _, at, content_id, rank, score, version, interaction_id, selected = record
            if content_id in dirty:
                item = dirty[content_id]
            else:
                model = content.get(content_id)
                item = dirty[content_id] = (
                    _Item(0, None, None, at, at, None, {})
                    if model is None
                    else _Item.from_model(model)
                )
            if rank > item.rank:  # a status never goes down
                item.rank = rank
                if rank >= _COMPLETED_RANK:
                    if item.completed is None:
                        item.completed = at
                    # the streak: a day counts when an item's status rises to completed/passed
                    day = day_of(at)
                    last_day = fold.streak_day
                    if last_day is None or day > last_day + 1:
                        fold.streak_day = day
                        fold.streak_current = 1
                    elif day == last_day + 1:
                        fold.streak_day = day
                        fold.streak_current += 1
                    # else the same day (or, if misused, an earlier one): unchanged
                    if fold.streak_current > fold.streak_longest:
                        fold.streak_longest = fold.streak_current
            item.last = at
            if score is not MISSING and (item.score is None or score > item.score):
                item.score = score
            if version is not MISSING:
                item.version = version
            if interaction_id is not None:
                if selected is _REMOVED:
                    item.interactions.pop(interaction_id, None)
                else:
                    item.interactions[interaction_id] = selected
        elif kind == _PATH_SET:
            fold.active_path_id = record[2]
        elif kind == _ONBOARDED:
            fold.onboarding = (record[2], record[1])
        elif kind == _ONBOARDING_RESET:
            fold.onboarding = _NO_ONBOARDING
        elif kind == _RESET:  # later events apply to a fresh snapshot
            content = fold.content = {}
            dirty = fold.dirty = {}
            fold.onboarding = _NO_ONBOARDING
            fold.active_path_id = None
            fold.streak_current = fold.streak_longest = 0
            fold.streak_day = None
        # any other kind is an unknown type: skipped


def _day_of_any(at: str) -> int:
    return epoch_day(instant_of(at))


def _apply(fold: _Fold, event: Event, instant: int) -> None:
    _fold(fold, (_record(event),), _day_of_any)
    if fold.last_instant is None or instant >= fold.last_instant:
        fold.last_instant = instant
        fold.last_updated = event.occurred_at


def _finish(fold: _Fold, last: str | None, last_instant: int | None) -> LearningGuestProgress:
    if last is not None:  # the last in order has the latest occurredAt
        fold.last_updated = last
        fold.last_instant = last_instant
    return fold.snapshot()


def reduce_events(events: Iterable[Event]) -> LearningGuestProgress:
    """The snapshot of a log: a pure function of the set of events, whatever their order."""
    with gc_paused():  # and what _reduce_models made is freed before the collector resumes
        return _reduce_models(list(events))


def _reduce_models(log: list[Event]) -> LearningGuestProgress:
    if len({e.event_id for e in log}) != len(log):  # copies of one event: keep one
        log = dedupe_events(log)
    key = instant_of
    # the records made in the log's order (reading the models one after the other), then
    # sorted: eventIds are unique here, so records themselves are never compared
    ordered = [(key(e.occurred_at), e.event_id, _record(e)) for e in log]
    ordered.sort()
    fold = _Fold(_EMPTY)
    if not ordered:
        return fold.snapshot()
    start = 0
    if ProgressReset in map(type, log):  # the fold starts after the last one (see _fold)
        start = len(ordered)
        while ordered[start - 1][2][0] != _RESET:
            start -= 1
    _fold(fold, map(_THIRD, ordered[start:]), _day_of_any)
    last_instant, _, last = ordered[-1]
    return _finish(fold, last[1], last_instant)


# --------------------------------------------------------------------------- from JSON text
#
# reduce_json's fast path reads the decoded JSON (plain dicts) straight into records, checking
# each event against the wire schema as parse_events would. It takes only the common form:
# known events with exactly their camelCase keys (a quiz state with its "kind"), unknown types
# without snake_case base keys, timestamps in the snapshot's form (UTC, milliseconds, "Z"), and
# copies of one eventId that are equal or of known types. Anything else (an invalid event
# included) is left to parse_events and reduce_events, which give the result or the error.

_ID_BOUNDS: Final = get_args(Id)[1]  # StringConstraints(min_length=..., max_length=...)
_ID_MIN: Final[int] = _ID_BOUNDS.min_length
_ID_MAX: Final[int] = _ID_BOUNDS.max_length
_SNAKE_KEYS: Final = frozenset(["event_id", "occurred_at", "client_id"])
# The snapshot's form of a timestamp (RFC 3339 in UTC with milliseconds, 24 characters);
# instants compare like these strings, so an eventId appended to one makes a sort key.
_DIGITS_TO_ZERO: Final = str.maketrans("123456789", "000000000")
_SHAPE: Final = "0000-00-00T00:00:00.000Z"
_DATE_AND_HOUR: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3])").fullmatch


class _Unusual(Exception):
    """The fast path does not take this input: parse_events decides."""


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=1 << 12)
def _day_of_date(prefix: str) -> int:
    """The day since 1970-01-01 of ``YYYY-MM-DD``; ``ValueError`` if there is no such date."""
    return date.fromisoformat(prefix).toordinal() - _EPOCH_ORDINAL


def _day_of_snapshot_form(at: str) -> int:
    return _day_of_date(at[:10])


def _check_snapshot_form(stamps: list[str], hours: set[str]) -> None:
    """Every timestamp, 24 characters long, is in the snapshot's form; ``hours`` holds the
    distinct first 13 characters (date and hour) of all of them.

    Checked on all of them joined (a few passes in C, not a call per timestamp): the shape
    (digits and separators), minutes and seconds below 60, then each distinct date and hour.
    """
    joined = "".join(stamps)
    if joined.translate(_DIGITS_TO_ZERO) != _SHAPE * len(stamps):
        raise _Unusual
    if stamps and (max(joined[14::24]) > "5" or max(joined[17::24]) > "5"):
        raise _Unusual
    for hour in hours:
        if not _DATE_AND_HOUR(hour):
            raise _Unusual
        _day_of_date(hour[:10])  # a real date (ValueError: no)


def _plain_records(data: list[Any]) -> tuple[list[str], list[_Record], list[int], bool]:
    """The sort keys and records of decoded events, each checked as parse_events would, the
    positions of the progress.reset events, and whether the eventIds are unique;
    :class:`_Unusual` if an event is not in the form the fast path takes.

    One pass over the events, each read while it is in the processor's cache, with checks the
    interpreter runs inline (``type``, ``len``, comparisons); a pass per field, or ``map`` of a
    function over a column, costs more (measured; in Pyodide twice as much).
    """
    ranks = STATUS_RANK
    low = _ID_MIN
    high = _ID_MAX
    ids: list[str] = []
    keys: list[str] = []
    stamps: list[str] = []
    hours: set[str] = set()
    scores: list[Any] = []
    records: list[_Record] = []
    resets: list[int] = []
    add_id = ids.append
    add_key = keys.append
    add_stamp = stamps.append
    add_score = scores.append
    append = records.append
    for event in data:
        event_id = event["eventId"]
        at = event["occurredAt"]
        client_id = event["clientId"]
        kind = event["type"]
        if (
            type(event_id) is not str
            or not low <= len(event_id) <= high
            or type(client_id) is not str
            or not low <= len(client_id) <= high
            or type(at) is not str
            or len(at) != 24
        ):
            raise _Unusual
        add_id(event_id)
        add_key(at + event_id)
        add_stamp(at)
        if (hour := at[:13]) not in hours:
            hours.add(hour)
        if kind == "content.progressed":
            payload = event["payload"]
            if len(event) != 5 or type(payload) is not dict:
                raise _Unusual
            content_id = payload["contentId"]
            if type(content_id) is not str or not low <= len(content_id) <= high:
                raise _Unusual
            rank = ranks[payload["status"]]
            size = len(payload)
            if size == 2:
                append((_PROGRESSED, at, content_id, rank, MISSING, MISSING, None, None))
                continue
            count = 2
            # (`in` and a subscript: the interpreter runs both inline, but calls dict.get)
            score = version = MISSING
            if "score" in payload:
                add_score(score := payload["score"])
                count += 1
            if "contentVersion" in payload:
                version = payload["contentVersion"]
                if type(version) is not str or not low <= len(version) <= high:
                    raise _Unusual
                count += 1
            if "interaction" not in payload:
                interaction_id = selected = None
            else:
                interaction = payload["interaction"]
                count += 1
                if type(interaction) is not dict or len(interaction) != 2:
                    raise _Unusual
                interaction_id = interaction["interactionId"]
                if type(interaction_id) is not str or not low <= len(interaction_id) <= high:
                    raise _Unusual
                state = interaction["state"]
                if state is None:
                    selected = _REMOVED
                elif type(state) is dict and len(state) == 2 and state["kind"] == "quiz":
                    selected = state["selectedOptionId"]
                    if selected is not None and (
                        type(selected) is not str or not low <= len(selected) <= high
                    ):
                        raise _Unusual
                else:
                    raise _Unusual
            if size != count:
                raise _Unusual
            append((_PROGRESSED, at, content_id, rank, score, version, interaction_id, selected))
        elif kind == "activePath.set" or kind == "onboarding.completed":
            payload = event["payload"]
            if len(event) != 5 or type(payload) is not dict or len(payload) != 1:
                raise _Unusual
            path_id = payload["pathId"]
            if (kind == "onboarding.completed" or path_id is not None) and (
                type(path_id) is not str or not low <= len(path_id) <= high
            ):
                raise _Unusual
            append((_ONBOARDED if kind == "onboarding.completed" else _PATH_SET, at, path_id))
        elif kind == "onboarding.reset" or kind == "progress.reset":
            if len(event) != 4:
                raise _Unusual
            if kind == "progress.reset":
                resets.append(len(records))
                append((_RESET, at))
            else:
                append((_ONBOARDING_RESET, at))
        else:  # an unknown type, kept whole by parse_events
            if type(kind) is not str or not low <= len(kind) <= high:
                raise _Unusual
            if not _SNAKE_KEYS.isdisjoint(event):
                raise _Unusual
            append((_OTHER, at))
    if scores and not (
        set(map(type, scores)) <= {int, float} and min(scores) >= 0 and max(scores) <= 100
    ):
        raise _Unusual
    _check_snapshot_form(stamps, hours)
    return keys, records, resets, len(set(ids)) == len(ids)


def _preferred_copies(data: list[Any]) -> list[Any]:
    """The copy of each eventId that :func:`preferred_copy` keeps."""
    kept: dict[str, Any] = {}
    for event in data:
        event_id = event["eventId"]
        first = kept.setdefault(event_id, event)
        if first is not event and first != event:
            if first["type"] not in EVENT_TYPES or event["type"] not in EVENT_TYPES:
                raise _Unusual  # an unknown type's copies: compared as models by parse_events
            kept[event_id] = preferred_copy(first, event)
    return list(kept.values())


def _reduce_plain(data: bytes | str) -> LearningGuestProgress:
    """reduce_json's fast path; :class:`_Unusual` when it does not take ``data``."""
    try:
        decoded = decode_json(data)
        if type(decoded) is not list:
            raise _Unusual
        keys, records, resets, unique = _plain_records(decoded)  # every copy checked
        if not unique:  # copies of one event: keep one
            keys, records, resets, _ = _plain_records(_preferred_copies(decoded))
    except (KeyError, TypeError, ValueError):
        raise _Unusual from None
    del decoded
    fold = _Fold(_EMPTY, _as_written)
    if not keys:
        return fold.snapshot()
    last = max(keys)
    positions: Iterable[int] = range(len(keys))
    if resets:  # the fold starts after the last one (see _fold)
        after = max(map(keys.__getitem__, resets))
        positions = compress(positions, map(after.__lt__, keys))
    order = sorted(positions, key=keys.__getitem__)
    _fold(fold, map(records.__getitem__, order), _day_of_snapshot_form)
    at = last[:24]  # the latest occurredAt: the key's timestamp
    return _finish(fold, at, instant_of(at))


def reduce_json(data: bytes | str) -> LearningGuestProgress:
    """The snapshot of a JSON array of events: ``reduce_events(parse_events(data))``.

    A log in the common form (see above) is read straight from the decoded JSON into the
    reducer, without event models; any other goes through :func:`parse_events`. The cyclic
    collector stays paused throughout (its passes over the many new objects otherwise cost a
    third of the time, measured). Invalid input raises what :func:`parse_events` raises.
    """
    with gc_paused():
        try:
            return _reduce_plain(data)
        except _Unusual:
            return reduce_events(parse_events(data))


def apply_event(snapshot: LearningGuestProgress, event: Event) -> LearningGuestProgress:
    """Fold one more event into a snapshot.

    Equal to a full reduction when ``event`` sorts after every event already reduced into
    ``snapshot`` (by :func:`event_order_key`); otherwise the caller reduces the log again.
    """
    fold = _Fold(snapshot)
    _apply(fold, event, instant_of(event.occurred_at))
    return fold.snapshot()


class Folding:
    """A fold carried across calls: events given in log order are folded into one working copy
    of ``snapshot`` (empty by default), and :meth:`snapshot` makes the model only when asked.
    For a reduction in steps: a step that folds a chunk does not convert the items touched
    so far back to models; the step that takes the snapshot does (once for each item touched
    since the last one taken).

    ``snapshot`` is left as it was; a snapshot taken shares nothing that a later fold changes.
    """

    __slots__ = ("_fold",)

    def __init__(self, snapshot: LearningGuestProgress | None = None) -> None:
        self._fold = _Fold(_EMPTY if snapshot is None else snapshot)

    def fold(self, events: Iterable[Event]) -> Folding:
        with gc_paused():
            fold = self._fold
            for event in events:
                _apply(fold, event, instant_of(event.occurred_at))
        return self

    def snapshot(self) -> LearningGuestProgress:
        with gc_paused():
            taken = self._fold.snapshot()
            self._fold = _Fold(taken)  # folding on from the models: none is converted twice
        return taken


def apply_events(snapshot: LearningGuestProgress, events: Iterable[Event]) -> LearningGuestProgress:
    """Fold more events, given in log order, into a snapshot: :func:`apply_event` on each in
    turn, but in one working copy, so the ``content`` mapping is copied once, not per event.

    ``snapshot`` is left as it was: the result shares only the items no event touched.
    """
    return Folding(snapshot).fold(events).snapshot()


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
