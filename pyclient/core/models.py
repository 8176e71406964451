"""The data model: events (wire format = storage format), the snapshot, sync metadata, API bodies.

JSON keys are camelCase exactly as in the specification; Python attributes are snake_case.
Every model is frozen: update with ``model_copy(update=...)``. Known event models reject
unknown fields; an event whose ``type`` this client does not know is kept as an
:class:`UnknownEvent` (every field preserved) so that a log written by a newer client survives.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.alias_generators import to_camel

from .limits import MAX_EVENTS_PER_PUT
from .timestamps import RFC3339_PATTERN, instant_of

__all__ = [
    "EVENT_TYPES",
    "ActivePathSet",
    "ActivePathSetPayload",
    "ContentProgressPayload",
    "ContentProgressed",
    "ContentStatus",
    "ErrorBody",
    "ErrorEnvelope",
    "Event",
    "GetProgressData",
    "GetProgressResponse",
    "Id",
    "InteractionUpdate",
    "KnownEvent",
    "LearningContentProgress",
    "LearningGuestProgress",
    "LearningProgressSyncEntry",
    "LearningProgressSyncState",
    "OkResponse",
    "OnboardingCompleted",
    "OnboardingCompletedPayload",
    "OnboardingReset",
    "OnboardingState",
    "ProgressReset",
    "PutProgressRequest",
    "QuizState",
    "Score",
    "StreakState",
    "SyncStatus",
    "Timestamp",
    "UnknownEvent",
    "WireModel",
]

_CAMEL = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
    frozen=True,
)


class WireModel(BaseModel):
    """The base of every model on the wire or in storage: camelCase JSON keys (snake_case in
    Python, both accepted on input), frozen, unknown fields rejected. Shared by pyserver's and
    the content's models so that all of them follow one convention."""

    model_config = ConfigDict(**_CAMEL, extra="forbid")


def _valid_instant(value: str) -> str:
    instant_of(value)  # raises ValueError with a readable message
    return value


#: A non-empty identifier of at most 128 characters.
Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
#: An RFC 3339 date-time with an offset; kept exactly as written (events are never mutated).
Timestamp = Annotated[
    str, StringConstraints(pattern=RFC3339_PATTERN), AfterValidator(_valid_instant)
]
#: A finite score from 0 to 100 (a JSON integer stays an integer).
Score = Annotated[
    Annotated[int, Field(strict=True)] | Annotated[float, Field(strict=True)],
    Field(ge=0, le=100),
]
ContentStatus = Literal["not_started", "in_progress", "completed", "passed"]
SyncStatus = Literal["synced", "local", "syncing", "error"]

# --------------------------------------------------------------------------- events


class QuizState(WireModel):
    """The state of a quiz interaction: the option the learner chose, if any."""

    kind: Literal["quiz"] = "quiz"
    selected_option_id: Id | None


class InteractionUpdate(WireModel):
    """Sets an interaction's state, or removes it (``state: null``, e.g. a quiz retry)."""

    interaction_id: Id
    state: QuizState | None


class ContentProgressPayload(WireModel):
    """Progress on one item; optional keys are absent (never null) when not given."""

    content_id: Id
    status: ContentStatus
    score: Score | MISSING = MISSING
    content_version: Id | MISSING = MISSING
    interaction: InteractionUpdate | MISSING = MISSING


class OnboardingCompletedPayload(WireModel):
    path_id: Id


class ActivePathSetPayload(WireModel):
    path_id: Id | None


class _EventBase(WireModel):
    event_id: Id
    occurred_at: Timestamp
    client_id: Id


class ContentProgressed(_EventBase):
    """The learner made progress on an item (lesson or quiz)."""

    type: Literal["content.progressed"] = "content.progressed"
    payload: ContentProgressPayload


class OnboardingCompleted(_EventBase):
    """The learner finished onboarding by choosing a path."""

    type: Literal["onboarding.completed"] = "onboarding.completed"
    payload: OnboardingCompletedPayload


class OnboardingReset(_EventBase):
    """Onboarding starts over; no payload."""

    type: Literal["onboarding.reset"] = "onboarding.reset"


class ActivePathSet(_EventBase):
    """The learner chose (or, with ``null``, cleared) the active path."""

    type: Literal["activePath.set"] = "activePath.set"
    payload: ActivePathSetPayload


class ProgressReset(_EventBase):
    """Clears the derived snapshot; no event is deleted. No payload."""

    type: Literal["progress.reset"] = "progress.reset"


KnownEvent = Annotated[
    ContentProgressed | OnboardingCompleted | OnboardingReset | ActivePathSet | ProgressReset,
    Field(discriminator="type"),
]
EVENT_TYPES: frozenset[str] = frozenset(
    [
        "content.progressed",
        "onboarding.completed",
        "onboarding.reset",
        "activePath.set",
        "progress.reset",
    ]
)


def _not_a_known_type(value: str) -> str:
    if value in EVENT_TYPES:
        raise ValueError(f"an event of type {value!r} must match that type's schema")
    return value


class UnknownEvent(BaseModel):
    """An event of a type this client does not know: kept in the log, skipped by the reducer."""

    model_config = ConfigDict(**_CAMEL, extra="allow")

    event_id: Id
    occurred_at: Timestamp
    client_id: Id
    type: Annotated[
        str, StringConstraints(min_length=1, max_length=128), AfterValidator(_not_a_known_type)
    ]


#: Any event read from a log: a known type, or an unknown one kept as it is.
Event = Annotated[KnownEvent | UnknownEvent, Field(union_mode="left_to_right")]

# --------------------------------------------------------------------------- snapshot


class LearningContentProgress(WireModel):
    status: ContentStatus
    score: float | int | None
    content_version: str | None
    first_attempt_at: str
    last_attempt_at: str
    completed_at: str | None
    interactions: dict[str, QuizState]


class OnboardingState(WireModel):
    completed: bool = False
    path_id: str | None = None
    completed_at: str | None = None


class StreakState(WireModel):
    current: int = 0
    longest: int = 0
    last_activity_date: str | None = None


class LearningGuestProgress(WireModel):
    """The snapshot the UI shows: a pure function of the set of events."""

    version: Literal[1] = 1
    content: dict[str, LearningContentProgress] = Field(default_factory=dict)
    onboarding: OnboardingState = OnboardingState()
    active_path_id: str | None = None
    streak: StreakState = StreakState()
    last_updated: str | None = None


# --------------------------------------------------------------------------- sync metadata


class LearningProgressSyncEntry(WireModel):
    status: SyncStatus
    last_attempt_at: str | None = None
    last_synced_at: str | None = None
    retry_count: int = 0
    error_message: str | MISSING = MISSING


class LearningProgressSyncState(WireModel):
    """Client-only sync metadata (spec §4.5); never sent to the API."""

    version: Literal[1] = 1
    events: dict[str, LearningProgressSyncEntry] = Field(default_factory=dict)
    last_successful_sync_at: str | None = None
    last_synced_cursor: str | None = None


# --------------------------------------------------------------------------- API bodies


class PutProgressRequest(BaseModel):
    """``PUT /progress`` body. Extra top-level fields are allowed; events are strict."""

    model_config = ConfigDict(**_CAMEL, extra="allow")

    client_updated_at: Timestamp
    events: list[KnownEvent] = Field(max_length=MAX_EVENTS_PER_PUT)


class OkResponse(WireModel):
    ok: Literal[True] = True


class GetProgressData(WireModel):
    snapshot: LearningGuestProgress
    events: list[Event]
    cursor: str
    has_more: bool


class GetProgressResponse(WireModel):
    ok: Literal[True] = True
    data: GetProgressData


class ErrorBody(WireModel):
    code: str
    message: str
    details: Any | MISSING = MISSING


class ErrorEnvelope(WireModel):
    ok: Literal[False] = False
    error: ErrorBody
