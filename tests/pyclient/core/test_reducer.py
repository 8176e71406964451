"""The reduction rules of DESIGN §3, one test each; names state the rule."""

from __future__ import annotations

from pyclient import LearningGuestProgress, canonical_json, parse_events, reduce_events
from pyclient.core.reducer import apply_event

from ..builders import (
    active_path,
    at,
    onboarded,
    onboarding_reset,
    progress_reset,
    progressed,
    unknown,
)


def test_an_empty_log_reduces_to_the_empty_snapshot() -> None:
    snapshot = reduce_events([])
    assert snapshot == LearningGuestProgress()
    assert canonical_json(snapshot) == (
        '{"activePathId":null,"content":{},"lastUpdated":null,'
        '"onboarding":{"completed":false,"completedAt":null,"pathId":null},'
        '"streak":{"current":0,"lastActivityDate":null,"longest":0},"version":1}'
    )


def test_events_apply_in_occurred_at_order_whatever_the_input_order() -> None:
    first = onboarded("e-2", at(1), "path-a")
    second = onboarded("e-1", at(2), "path-b")
    assert reduce_events([second, first]).onboarding.path_id == "path-b"


def test_equal_occurred_at_is_tie_broken_by_event_id() -> None:
    events = [onboarded("e-b", at(1), "path-b"), onboarded("e-a", at(1), "path-a")]
    assert reduce_events(events).onboarding.path_id == "path-b"
    assert reduce_events(list(reversed(events))).onboarding.path_id == "path-b"


def test_order_is_by_instant_not_by_string_across_offsets() -> None:
    # 13:00+02:00 is 11:00Z: earlier than 12:00Z although its string sorts later.
    events = [
        onboarded("e-1", "2025-01-01T13:00:00.000+02:00", "late-string"),
        onboarded("e-2", "2025-01-01T12:00:00.000Z", "late-instant"),
    ]
    assert reduce_events(events).onboarding.path_id == "late-instant"


def test_status_never_goes_down() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "lesson", "passed"),
            progressed("e-2", at(2), "lesson", "in_progress"),
            progressed("e-3", at(3), "lesson", "completed"),
        ]
    )
    assert snapshot.content["lesson"].status == "passed"


def test_status_rises_through_the_precedence() -> None:
    statuses = []
    events = []
    for i, status in enumerate(["not_started", "in_progress", "completed", "passed"]):
        events.append(progressed(f"e-{i}", at(1, 10 + i), "lesson", status))
        statuses.append(reduce_events(events).content["lesson"].status)
    assert statuses == ["not_started", "in_progress", "completed", "passed"]


def test_a_lower_status_event_still_updates_attempt_score_version_and_interaction() -> None:
    snapshot = reduce_events(
        [
            progressed(
                "e-1", at(1), "quiz", "passed", score=40, version="v1", interaction=("q", "a")
            ),
            progressed(
                "e-2", at(2), "quiz", "in_progress", score=90, version="v2", interaction=("q", "c")
            ),
        ]
    )
    item = snapshot.content["quiz"]
    assert item.status == "passed"
    assert item.last_attempt_at == at(2)
    assert item.score == 90
    assert item.content_version == "v2"
    assert item.interactions["q"].selected_option_id == "c"


def test_score_is_the_best_seen() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "quiz", "completed", score=70),
            progressed("e-2", at(2), "quiz", "completed", score=30),
            progressed("e-3", at(3), "quiz", "completed"),
        ]
    )
    assert snapshot.content["quiz"].score == 70


def test_score_is_null_until_an_event_carries_one() -> None:
    assert reduce_events([progressed("e-1", at(1), "x", "in_progress")]).content["x"].score is None


def test_content_version_comes_from_the_latest_event_that_carried_one() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "x", "in_progress", version="v1"),
            progressed("e-2", at(2), "x", "in_progress", version="v2"),
            progressed("e-3", at(3), "x", "completed"),
        ]
    )
    assert snapshot.content["x"].content_version == "v2"


def test_first_attempt_is_the_first_event_and_last_attempt_the_latest() -> None:
    snapshot = reduce_events(
        [
            progressed("e-2", at(5), "x", "in_progress"),
            progressed("e-1", at(3), "x", "in_progress"),
            progressed("e-3", at(9), "x", "in_progress"),
        ]
    )
    assert snapshot.content["x"].first_attempt_at == at(3)
    assert snapshot.content["x"].last_attempt_at == at(9)


def test_completed_at_is_the_first_event_that_reached_completed_or_passed() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "x", "in_progress"),
            progressed("e-2", at(2), "x", "completed"),
            progressed("e-3", at(3), "x", "passed"),
        ]
    )
    assert snapshot.content["x"].completed_at == at(2)
    unfinished = reduce_events([progressed("e-1", at(1), "y", "in_progress")])
    assert unfinished.content["y"].completed_at is None


def test_an_interaction_state_replaces_the_previous_one() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "x", "in_progress", interaction=("q", "a")),
            progressed("e-2", at(2), "x", "in_progress", interaction=("q", "b")),
        ]
    )
    assert {k: v.selected_option_id for k, v in snapshot.content["x"].interactions.items()} == {
        "q": "b"
    }


def test_a_null_interaction_state_removes_the_interaction() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "x", "in_progress", interaction=("q", "a")),
            progressed("e-2", at(2), "x", "in_progress", interaction=("other", "z")),
            progressed("e-3", at(3), "x", "in_progress", interaction=("q", None, True)),
        ]
    )
    assert set(snapshot.content["x"].interactions) == {"other"}


def test_a_quiz_state_with_no_selected_option_is_kept_not_removed() -> None:
    snapshot = reduce_events(
        [progressed("e-1", at(1), "x", "in_progress", interaction=("q", None))]
    )
    assert snapshot.content["x"].interactions["q"].selected_option_id is None


def test_streak_starts_at_one_on_the_first_completion() -> None:
    streak = reduce_events([progressed("e-1", at(1), "x", "completed")]).streak
    assert (streak.current, streak.longest, streak.last_activity_date) == (1, 1, "2025-01-01")


def test_streak_is_unchanged_by_another_completion_the_same_day() -> None:
    streak = reduce_events(
        [
            progressed("e-1", at(1, 8), "x", "completed"),
            progressed("e-2", at(1, 20), "y", "passed"),
        ]
    ).streak
    assert (streak.current, streak.longest) == (1, 1)


def test_streak_grows_on_consecutive_days() -> None:
    streak = reduce_events(
        [progressed(f"e-{d}", at(d), f"item-{d}", "completed") for d in (1, 2, 3)]
    ).streak
    assert (streak.current, streak.longest, streak.last_activity_date) == (3, 3, "2025-01-03")


def test_streak_restarts_at_one_after_a_gap_and_longest_is_kept() -> None:
    streak = reduce_events(
        [
            progressed("e-1", at(1), "a", "completed"),
            progressed("e-2", at(2), "b", "completed"),
            progressed("e-3", at(5), "c", "completed"),
        ]
    ).streak
    assert (streak.current, streak.longest, streak.last_activity_date) == (1, 2, "2025-01-05")


def test_streak_counts_only_rises_to_completed_or_passed() -> None:
    streak = reduce_events(
        [
            progressed("e-1", at(1), "a", "completed"),
            progressed("e-2", at(2), "a", "completed"),  # no rise: already completed
            progressed("e-3", at(3), "b", "in_progress"),  # a rise, but not to completion
        ]
    ).streak
    assert (streak.current, streak.last_activity_date) == (1, "2025-01-01")


def test_streak_counts_a_rise_from_completed_to_passed() -> None:
    streak = reduce_events(
        [
            progressed("e-1", at(1), "a", "completed"),
            progressed("e-2", at(2), "a", "passed"),
        ]
    ).streak
    assert (streak.current, streak.last_activity_date) == (2, "2025-01-02")


def test_streak_days_are_utc_calendar_days() -> None:
    # 23:30-02:00 on Jan 1 is 01:30Z on Jan 2; 00:30+02:00 on Jan 3 is 22:30Z on Jan 2.
    streak = reduce_events(
        [
            progressed("e-1", "2025-01-01T23:30:00.000-02:00", "a", "completed"),
            progressed("e-2", "2025-01-03T00:30:00.000+02:00", "b", "completed"),
        ]
    ).streak
    assert (streak.current, streak.last_activity_date) == (1, "2025-01-02")


def test_onboarding_completed_sets_path_and_time() -> None:
    onboarding = reduce_events([onboarded("e-1", at(1), "path-a")]).onboarding
    assert (onboarding.completed, onboarding.path_id, onboarding.completed_at) == (
        True,
        "path-a",
        at(1),
    )


def test_onboarding_reset_clears_onboarding() -> None:
    events = [onboarded("e-1", at(1), "p"), onboarding_reset("e-2", at(2))]
    onboarding = reduce_events(events).onboarding
    assert (onboarding.completed, onboarding.path_id, onboarding.completed_at) == (
        False,
        None,
        None,
    )


def test_the_latest_onboarding_event_wins() -> None:
    events = [
        onboarding_reset("e-1", at(2)),
        onboarded("e-2", at(1), "p"),
        onboarded("e-3", at(3), "q"),
    ]
    assert reduce_events(events).onboarding.path_id == "q"
    assert reduce_events(events[:2]).onboarding.completed is False


def test_active_path_set_sets_and_null_clears() -> None:
    assert reduce_events([active_path("e-1", at(1), "p")]).active_path_id == "p"
    cleared = reduce_events([active_path("e-1", at(1), "p"), active_path("e-2", at(2), None)])
    assert cleared.active_path_id is None


def test_progress_reset_empties_content_onboarding_active_path_and_streak() -> None:
    snapshot = reduce_events(
        [
            onboarded("e-1", at(1), "p"),
            active_path("e-2", at(1, 13), "p"),
            progressed("e-3", at(2), "x", "passed", score=80),
            progress_reset("e-4", at(3)),
        ]
    )
    assert snapshot.model_copy(update={"last_updated": None}) == LearningGuestProgress()
    assert snapshot.last_updated == at(3)


def test_events_after_a_reset_apply_to_the_fresh_snapshot() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "x", "passed", score=90),
            progress_reset("e-2", at(2)),
            progressed("e-3", at(3), "x", "in_progress", score=10),
        ]
    )
    item = snapshot.content["x"]
    assert (item.status, item.score, item.first_attempt_at, item.completed_at) == (
        "in_progress",
        10,
        at(3),
        None,
    )
    assert snapshot.streak.current == 0


def test_events_before_a_reset_that_arrive_late_stay_reset() -> None:
    late = progressed("e-0", at(1), "old", "passed")
    snapshot = reduce_events([progress_reset("e-2", at(2)), late])
    assert snapshot.content == {}
    assert snapshot.last_updated == at(2)


def test_duplicate_event_ids_count_once() -> None:
    event = progressed("e-1", at(1), "x", "completed")
    once = reduce_events([event])
    assert reduce_events([event, event, event]) == once


def test_of_two_differing_copies_the_canonically_smaller_one_is_kept() -> None:
    a = progressed("e-1", at(1), "x", "completed", score=10)
    b = progressed("e-1", at(1), "x", "completed", score=90)
    smaller = min((a, b), key=canonical_json)
    assert reduce_events([a, b]) == reduce_events([b, a]) == reduce_events([smaller])


def test_snapshot_timestamps_are_utc_with_three_fraction_digits() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", "2025-01-01T12:00:00.123456789+05:30", "x", "completed"),
            onboarded("e-2", "2025-01-01t12:00:00-05:00", "p"),
        ]
    )
    item = snapshot.content["x"]
    assert (
        item.first_attempt_at
        == item.last_attempt_at
        == item.completed_at
        == ("2025-01-01T06:30:00.123Z")
    )
    assert snapshot.onboarding.completed_at == "2025-01-01T17:00:00.000Z"
    assert snapshot.last_updated == "2025-01-01T17:00:00.000Z"


def test_unknown_event_types_are_skipped_but_count_for_last_updated() -> None:
    snapshot = reduce_events(
        [
            progressed("e-1", at(1), "x", "completed"),
            unknown("e-2", at(9), "badge.earned", payload={"badge": "gold"}),
        ]
    )
    assert set(snapshot.content) == {"x"}
    assert snapshot.last_updated == at(9)


def test_last_updated_is_the_latest_occurred_at_of_the_whole_log() -> None:
    snapshot = reduce_events(
        [
            progressed("e-2", at(7), "x", "completed"),
            active_path("e-1", at(3), "p"),
        ]
    )
    assert snapshot.last_updated == at(7)


def test_apply_event_equals_reducing_the_longer_log() -> None:
    events = [
        onboarded("e-1", at(1), "p"),
        progressed("e-2", at(2), "x", "completed", score=50, interaction=("q", "a")),
        progressed("e-3", at(3), "x", "passed", score=20, interaction=("q", None, True)),
        progress_reset("e-4", at(4)),
        progressed("e-5", at(5), "y", "passed"),
        unknown("e-6", at(6)),
    ]
    snapshot = LearningGuestProgress()
    for n, event in enumerate(events, start=1):
        snapshot = apply_event(snapshot, event)
        assert canonical_json(snapshot) == canonical_json(reduce_events(events[:n]))


def test_apply_event_does_not_change_the_snapshot_it_was_given() -> None:
    before = reduce_events([progressed("e-1", at(1), "x", "in_progress", interaction=("q", "a"))])
    frozen = canonical_json(before)
    apply_event(before, progressed("e-2", at(2), "x", "passed", interaction=("q", None, True)))
    assert canonical_json(before) == frozen


def test_a_log_with_an_unknown_type_parses_and_reduces() -> None:
    log = (
        '[{"eventId":"e-1","occurredAt":"2025-01-01T00:00:00.000Z","clientId":"c",'
        '"type":"future.kind","payload":{"anything":[1,2]},"extra":true}]'
    )
    events = parse_events(log)
    assert events[0].type == "future.kind"
    assert reduce_events(events).last_updated == "2025-01-01T00:00:00.000Z"
