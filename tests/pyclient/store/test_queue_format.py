"""The early-action queue as stored (DESIGN §5): which keys hold a queued action, what a readable
value is, and unreadable values kept aside by the store, never dropped."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from pyclient import dump_events
from pyclient.adapters.cpython import MemoryStorage
from pyclient.core.models import KnownEvent
from pyclient.store.keys import QUEUE_PREFIX, corrupt_key, queue_key
from pyclient.store.local_store import LocalStore
from pyclient.store.queue_format import (
    QueuedAction,
    decode_queued,
    encode_queued,
    is_queue_key,
    queued_text,
)

from ..builders import progressed
from ..fakes import FakeClock

EVENT_ID = "0b7e4d1c-9a51-4f0e-8c1d-1f2a3b4c5d6e"
EVENT: dict[str, Any] = {
    "eventId": EVENT_ID,
    "occurredAt": "2026-12-01T08:30:00.123Z",
    "clientId": "page-client",
    "type": "content.progressed",
    "payload": {
        "contentId": "quiz-1",
        "status": "passed",
        "score": 100,
        "contentVersion": "v3",
        "interaction": {
            "interactionId": "q1",
            "state": {"kind": "quiz", "selectedOptionId": "b"},
        },
    },
}


def value(event: dict[str, Any] = EVENT, user: Any = "u1", v: Any = 1) -> str:
    return json.dumps({"v": v, "userId": user, "event": event})


def test_a_queued_action_is_read_with_its_event_exactly_as_written() -> None:
    action = decode_queued(queue_key(EVENT_ID), value())
    assert isinstance(action, QueuedAction)
    assert action.key == queue_key(EVENT_ID) and action.user_id == "u1"
    assert json.loads(dump_events([action.event])) == [EVENT]


def test_a_guest_action_has_no_user() -> None:
    action = decode_queued(queue_key(EVENT_ID), value(user=None))
    assert isinstance(action, QueuedAction) and action.user_id is None


UNREADABLE = {
    "not JSON": "{oops",
    "not an object": "[]",
    "no version": json.dumps({"userId": None, "event": EVENT}),
    "a newer version": value(v=2),
    "true for a version": value(v=True),
    "an empty userId": value(user=""),
    "a number for userId": value(user=7),
    "no userId": json.dumps({"v": 1, "event": EVENT}),
    "an unknown event type": value({**EVENT, "type": "badge.earned"}),
    "an invalid event": value({**EVENT, "payload": {"contentId": "quiz-1"}}),
    "an unknown field": json.dumps({"v": 1, "userId": None, "event": EVENT, "x": 1}),
    "another eventId than the key's": value({**EVENT, "eventId": "someone-else"}),
}


@pytest.mark.parametrize("raw", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_value_says_what_is_wrong(raw: str) -> None:
    problem = decode_queued(queue_key(EVENT_ID), raw)
    assert isinstance(problem, str) and problem


def test_queue_keys_are_those_of_actions_not_of_values_kept_aside() -> None:
    assert is_queue_key(queue_key(EVENT_ID))
    assert not is_queue_key(corrupt_key(queue_key(EVENT_ID), "2026-12-01T08:30:00.000Z"))
    assert not is_queue_key(QUEUE_PREFIX)  # no eventId
    assert not is_queue_key("learning_progress_queued:x")
    assert not is_queue_key("learning_progress_events")


def test_read_queue_returns_readable_actions_and_keeps_unreadable_values_aside() -> None:
    storage = MemoryStorage()
    warnings: list[str] = []
    store = LocalStore(storage, FakeClock(), on_warning=warnings.append)
    good, bad = queue_key(EVENT_ID), queue_key("broken")
    storage.data[good] = value()
    storage.data[bad] = "{oops"
    storage.data["learning_progress_events"] = "untouched"
    actions = store.read_queue()
    assert [a.key for a in actions] == [good]
    assert bad not in storage.data and good in storage.data  # removal of good is the engine's
    (aside,) = [k for k in storage.data if k.startswith(bad + ":corrupt:")]
    assert storage.data[aside] == "{oops"
    assert len(warnings) == 1 and bad in warnings[0] and aside in warnings[0]
    assert [a.key for a in store.read_queue()] == [good]  # the aside value is not read again
    assert len(warnings) == 1


def test_an_unreadable_value_stays_queued_when_storage_is_too_full_to_set_it_aside() -> None:
    storage = MemoryStorage()
    store = LocalStore(storage, FakeClock())
    bad = queue_key("broken")
    storage.data[bad] = "{oops"
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items())  # full now
    assert store.read_queue() == []
    assert storage.data == {bad: "{oops"}  # not dropped
    assert "could not be set aside" in store.warnings[-1]
    storage.quota = None
    assert store.read_queue() == []
    assert bad not in storage.data
    assert list(storage.data.values()) == ["{oops"]  # now kept aside


def test_remove_queued_removes_only_those_keys() -> None:
    storage = MemoryStorage()
    store = LocalStore(storage, FakeClock())
    other = {**EVENT, "eventId": "other-id"}
    storage.data[queue_key(EVENT_ID)] = value()
    storage.data[queue_key("other-id")] = value(other)
    first, second = store.read_queue()
    store.remove_queued([first])
    assert list(storage.data) == [second.key]


def test_an_action_the_client_queues_reads_back_as_the_pages_do() -> None:
    event = progressed("e1", "2026-01-01T00:00:00.000Z", "lesson-1", "completed")
    for user in (None, "u1"):
        action = encode_queued(user, cast(KnownEvent, event))
        assert action.key == queue_key("e1")
        assert decode_queued(action.key, queued_text(action)) == action
