"""Golden vectors: an event log in, the exact canonical snapshot out (tests/vectors/*.json).

The same files run in CPython and in Pyodide; both must print byte-identical canonical JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyclient import (
    InvalidEventsError,
    LearningGuestProgress,
    canonical_json,
    parse_events,
    reduce_events,
)
from pyclient.core.eventlog import dedupe_events, event_order_key
from pyclient.core.reducer import apply_event, reduce_json

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
FILES = sorted(VECTORS.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def reduce_vector(path: Path) -> str:
    """The canonical snapshot this runtime computes for a vector's log."""
    events = parse_events(json.dumps(load(path)["events"]))
    return canonical_json(reduce_events(events))


def test_there_are_at_least_25_vectors() -> None:
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_reduces_to_its_canonical_snapshot(path: Path) -> None:
    expected = canonical_json(load(path)["snapshot"])
    assert reduce_vector(path) == expected
    # The stored snapshot is itself a valid snapshot.
    assert canonical_json(LearningGuestProgress.model_validate(load(path)["snapshot"])) == expected


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_applied_one_event_at_a_time_gives_the_same_snapshot(path: Path) -> None:
    events = parse_events(json.dumps(load(path)["events"]))
    snapshot = LearningGuestProgress()
    for event in sorted(dedupe_events(events), key=event_order_key):
        snapshot = apply_event(snapshot, event)
    assert canonical_json(snapshot) == canonical_json(load(path)["snapshot"])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_reduced_straight_from_its_json_text_gives_the_same_snapshot(path: Path) -> None:
    text = json.dumps(load(path)["events"])
    assert canonical_json(reduce_json(text)) == canonical_json(load(path)["snapshot"])
    assert canonical_json(reduce_json(text.encode())) == canonical_json(load(path)["snapshot"])


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '[{"eventId": "e1", "occurredAt": "yesterday", "clientId": "c", "type": "x"}]',
        '[{"eventId": "e1", "occurredAt": "2025-01-01T00:00:00Z", "clientId": "c",'
        ' "type": "content.progressed", "payload": {"contentId": "l", "status": "done"}}]',
    ],
)
def test_invalid_json_text_is_rejected_by_reduce_json_as_by_parse_events(text: str) -> None:
    with pytest.raises(InvalidEventsError) as parsed:
        parse_events(text)
    with pytest.raises(InvalidEventsError) as reduced:
        reduce_json(text)
    assert str(reduced.value) == str(parsed.value)
    assert reduced.value.args == parsed.value.args
