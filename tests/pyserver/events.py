"""Event and request builders for the pyserver tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

BASE = datetime(2025, 12, 22, 20, 0, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """An occurredAt ``seconds`` after a fixed base instant, as clients write it."""
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def progressed(
    event_id: str,
    seconds: float = 0,
    content_id: str = "lesson-1",
    status: str = "in_progress",
    **payload: Any,
) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "occurredAt": at(seconds),
        "clientId": "client-1",
        "type": "content.progressed",
        "payload": {"contentId": content_id, "status": status, **payload},
    }


def put_body(events: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"clientUpdatedAt": at(0), "events": events, **extra}


def many(prefix: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    """``count`` distinct events, in time order, over a few items and statuses."""
    statuses = ["in_progress", "completed", "passed", "not_started"]
    return [
        progressed(
            f"{prefix}-{i}",
            i,
            content_id=f"item-{i % 37}",
            status=statuses[i % 4],
            score=i % 101,
        )
        for i in range(start, start + count)
    ]
