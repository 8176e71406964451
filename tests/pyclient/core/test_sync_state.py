"""Sync-state transitions of spec §8.1 and the retry schedule of §6.3."""

from __future__ import annotations

import pytest

from pyclient.core.models import LearningProgressSyncState
from pyclient.core.sync_state import (
    MAX_RETRIES,
    RETRY_DELAYS_MS,
    changed_since,
    eligible_event_ids,
    finish_sync_failure,
    finish_sync_success,
    mark_local,
    next_retry_delay_ms,
    recover_interrupted,
    start_sync,
)

T1, T2, T3 = "2025-01-01T00:00:01.000Z", "2025-01-01T00:00:02.000Z", "2025-01-01T00:00:03.000Z"


def statuses(state: LearningProgressSyncState) -> dict[str, str]:
    return {event_id: entry.status for event_id, entry in state.events.items()}


def test_mark_local_sets_event_status_to_local() -> None:
    state = mark_local(LearningProgressSyncState(), ["a", "b"])
    assert statuses(state) == {"a": "local", "b": "local"}
    assert state.events["a"].retry_count == 0


def test_start_sync_moves_local_events_to_syncing_and_returns_them() -> None:
    state, sending = start_sync(mark_local(LearningProgressSyncState(), ["a", "b"]), T1)
    assert sending == ["a", "b"]
    assert statuses(state) == {"a": "syncing", "b": "syncing"}
    assert state.events["a"].last_attempt_at == T1


def test_start_sync_leaves_error_events_alone_unless_retrying() -> None:
    state, _ = start_sync(mark_local(LearningProgressSyncState(), ["a"]), T1)
    state = finish_sync_failure(state, ["a"], T1, "HTTP 400")
    state = mark_local(state, ["b"])
    after, sending = start_sync(state, T2)
    assert sending == ["b"] and statuses(after)["a"] == "error"
    retried, sending = start_sync(state, T2, retry_errors=True)
    assert sorted(sending) == ["a", "b"] and statuses(retried) == {"a": "syncing", "b": "syncing"}


def test_finish_sync_success_marks_events_synced() -> None:
    state, sending = start_sync(mark_local(LearningProgressSyncState(), ["a"]), T1)
    state = finish_sync_success(state, sending, T2, cursor="c-7")
    entry = state.events["a"]
    assert (entry.status, entry.last_synced_at, entry.last_attempt_at) == ("synced", T2, T1)
    assert (state.last_successful_sync_at, state.last_synced_cursor) == (T2, "c-7")


def test_finish_sync_failure_increments_retry_count_and_keeps_the_message() -> None:
    state, sending = start_sync(mark_local(LearningProgressSyncState(), ["a"]), T1)
    state = finish_sync_failure(state, sending, T2, "HTTP 500")
    state, sending = start_sync(state, T3, retry_errors=True)
    state = finish_sync_failure(state, sending, T3, "timed out")
    entry = state.events["a"]
    assert (entry.status, entry.retry_count, entry.error_message) == ("error", 2, "timed out")
    assert state.last_successful_sync_at is None


def test_success_after_errors_clears_the_error_and_the_retry_count() -> None:
    state, sending = start_sync(mark_local(LearningProgressSyncState(), ["a"]), T1)
    state = finish_sync_failure(state, sending, T1, "HTTP 500")
    state, sending = start_sync(state, T2, retry_errors=True)
    state = finish_sync_success(state, sending, T3)
    assert state.events["a"].retry_count == 0
    assert "errorMessage" not in state.events["a"].model_dump(mode="json")


def test_events_added_during_a_sync_stay_local() -> None:
    state, sending = start_sync(mark_local(LearningProgressSyncState(), ["a"]), T1)
    state = mark_local(state, ["b"])
    state = finish_sync_success(state, sending, T2)
    assert statuses(state) == {"a": "synced", "b": "local"}


def test_a_synced_event_is_not_sent_again() -> None:
    state, sending = start_sync(mark_local(LearningProgressSyncState(), ["a"]), T1)
    state = finish_sync_success(state, sending, T2)
    assert start_sync(state, T3, retry_errors=True)[1] == []
    assert eligible_event_ids(state, retry_errors=True) == []


def test_a_failure_reported_for_an_event_not_syncing_changes_nothing() -> None:
    state = mark_local(LearningProgressSyncState(), ["a"])
    assert finish_sync_failure(state, ["a", "unknown"], T1, "late") == state


def test_an_interrupted_sync_returns_events_to_local() -> None:
    state, _ = start_sync(mark_local(LearningProgressSyncState(), ["a", "b"]), T1)
    state = finish_sync_success(state, ["b"], T2)
    assert statuses(recover_interrupted(state)) == {"a": "local", "b": "synced"}


def test_retry_delays_follow_the_schedule_then_stop_after_max_retries() -> None:
    assert MAX_RETRIES == 4
    assert RETRY_DELAYS_MS == (1000, 5000, 15000, 60000)
    delays = [next_retry_delay_ms(n) for n in range(1, 7)]
    assert delays == [1000, 5000, 15000, 60000, None, None]


@pytest.mark.parametrize("failures", [0, -1])
def test_no_failure_means_no_delay(failures: int) -> None:
    assert next_retry_delay_ms(failures) == 0


def test_sync_state_serializes_in_the_spec_shape() -> None:
    state, _ = start_sync(mark_local(LearningProgressSyncState(), ["a"]), T1)
    state = finish_sync_failure(state, ["a"], T2, "HTTP 503")
    assert state.model_dump(mode="json") == {
        "version": 1,
        "events": {
            "a": {
                "status": "error",
                "lastAttemptAt": T1,
                "lastSyncedAt": None,
                "retryCount": 1,
                "errorMessage": "HTTP 503",
            }
        },
        "lastSuccessfulSyncAt": None,
        "lastSyncedCursor": None,
    }


def test_what_changed_since_a_state_is_known_from_the_transitions_that_made_it() -> None:
    base = mark_local(LearningProgressSyncState(), ["a", "b"])
    sending, _ = start_sync(base, T1)
    newer = mark_local(sending, ["c"])
    assert changed_since(base.events, base.events) == []
    assert changed_since(base.events, newer.events) == ["a", "b", "c"]
    assert changed_since(newer.events, base.events) is None  # not derived that way
    assert changed_since(base.events, dict(newer.events)) is None  # an equal dict made otherwise
    assert changed_since(LearningProgressSyncState().events, newer.events) is None  # another base
