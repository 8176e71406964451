"""Small builders for events in tests: terse to write, exactly the wire format."""

from __future__ import annotations

from typing import Any

from pyclient import Event
from pyclient.core.models import (
    ActivePathSet,
    ContentProgressed,
    ContentProgressPayload,
    OnboardingCompleted,
    OnboardingReset,
    ProgressReset,
    UnknownEvent,
)


def at(day: int, hour: int = 12, minute: int = 0, ms: int = 0, month: int = 1) -> str:
    """A UTC timestamp in 2025 (January unless ``month`` says otherwise)."""
    return f"2025-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00.{ms:03d}Z"


def progressed(
    event_id: str,
    occurred_at: str,
    content_id: str,
    status: str,
    *,
    score: float | None = None,
    version: str | None = None,
    interaction: tuple[str, str | None] | tuple[str, None, bool] | None = None,
    client_id: str = "client-a",
) -> ContentProgressed:
    """``interaction=("quiz-1", "b")`` selects option b; ``("quiz-1", None, True)`` clears it."""
    payload: dict[str, Any] = {"contentId": content_id, "status": status}
    if score is not None:
        payload["score"] = score
    if version is not None:
        payload["contentVersion"] = version
    if interaction is not None:
        interaction_id, option = interaction[0], interaction[1]
        cleared = len(interaction) == 3
        payload["interaction"] = {
            "interactionId": interaction_id,
            "state": None if cleared else {"kind": "quiz", "selectedOptionId": option},
        }
    return ContentProgressed(
        event_id=event_id,
        occurred_at=occurred_at,
        client_id=client_id,
        payload=ContentProgressPayload.model_validate(payload),
    )


def onboarded(event_id: str, occurred_at: str, path_id: str, client_id: str = "client-a") -> Event:
    return OnboardingCompleted.model_validate(
        {
            "eventId": event_id,
            "occurredAt": occurred_at,
            "clientId": client_id,
            "type": "onboarding.completed",
            "payload": {"pathId": path_id},
        }
    )


def onboarding_reset(event_id: str, occurred_at: str, client_id: str = "client-a") -> Event:
    return OnboardingReset(event_id=event_id, occurred_at=occurred_at, client_id=client_id)


def active_path(
    event_id: str, occurred_at: str, path_id: str | None, client_id: str = "client-a"
) -> Event:
    return ActivePathSet.model_validate(
        {
            "eventId": event_id,
            "occurredAt": occurred_at,
            "clientId": client_id,
            "type": "activePath.set",
            "payload": {"pathId": path_id},
        }
    )


def progress_reset(event_id: str, occurred_at: str, client_id: str = "client-a") -> Event:
    return ProgressReset(event_id=event_id, occurred_at=occurred_at, client_id=client_id)


def unknown(event_id: str, occurred_at: str, type_: str = "badge.earned", **extra: Any) -> Event:
    return UnknownEvent.model_validate(
        {
            "eventId": event_id,
            "occurredAt": occurred_at,
            "clientId": "client-b",
            "type": type_,
            **extra,
        }
    )
