"""web/progress_bridge.py (the Python half of progress-client.js), run in CPython."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pyclient import canonical_json, parse_events, reduce_events

BRIDGE = Path(__file__).resolve().parents[2] / "web" / "progress_bridge.py"


@pytest.fixture(scope="module")
def bridge() -> ModuleType:
    spec = importlib.util.spec_from_file_location("progress_bridge", BRIDGE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["progress_bridge"] = module
    spec.loader.exec_module(module)
    return module


def ev(
    i: int, *, content: str = "lesson-1", status: str = "in_progress", at: str | None = None
) -> dict:
    return {
        "eventId": f"e-{i:04d}",
        "occurredAt": at or f"2025-12-22T20:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "clientId": "c-1",
        "type": "content.progressed",
        "payload": {"contentId": content, "status": status},
    }


def full(events: list[dict]) -> str:
    return canonical_json(reduce_events(parse_events(json.dumps(events))))


def test_load_reduces_like_pyclient(bridge: ModuleType) -> None:
    events = [ev(1), ev(2, status="completed"), ev(3, content="quiz-1", status="passed")]
    log = bridge.GuestLog()
    result = json.loads(log.load(json.dumps(events)))
    assert result == {"snapshot": full(events), "rejected": []}
    assert log.size == 3


def test_invalid_stored_events_are_reported_by_index_and_the_rest_loads(bridge: ModuleType) -> None:
    events = [ev(1), {"eventId": "", "type": "content.progressed"}, ev(2, status="completed")]
    result = json.loads(bridge.GuestLog().load(json.dumps(events)))
    assert result["rejected"] == [1]
    assert result["snapshot"] == full([events[0], events[2]])


def test_merge_in_order_late_and_duplicate_all_equal_full_reduction(bridge: ModuleType) -> None:
    log = bridge.GuestLog()
    log.load(json.dumps([ev(5)]))
    seen = [ev(5)]
    for batch in (
        [ev(6, status="completed")],
        [ev(1, content="old", status="passed")],
        [ev(6, status="completed")],
        [ev(7, content="x"), ev(8, content="x", status="completed")],
    ):
        seen += [e for e in batch if e["eventId"] not in {s["eventId"] for s in seen}]
        assert log.merge(json.dumps(batch)) == full(seen)
    assert log.size == len(seen)


def test_unknown_event_types_are_kept_and_skipped(bridge: ModuleType) -> None:
    unknown = {
        "eventId": "u-1",
        "occurredAt": "2025-12-23T00:00:00.000Z",
        "clientId": "c-9",
        "type": "badge.earned",
        "payload": {"badge": "x"},
    }
    log = bridge.GuestLog()
    snapshot = json.loads(log.merge(json.dumps([ev(1), unknown])))
    assert snapshot["lastUpdated"] == "2025-12-23T00:00:00.000Z"
    assert log.size == 2


def test_validate_new_events_rejects_bad_and_unknown_events(bridge: ModuleType) -> None:
    bridge.validate_new_events(json.dumps([ev(1)]))
    with pytest.raises(ValueError):
        bridge.validate_new_events(
            json.dumps([{**ev(1), "payload": {"contentId": "", "status": "x"}}])
        )
    with pytest.raises(ValueError):
        bridge.validate_new_events(json.dumps([{**ev(1), "type": "badge.earned"}]))
