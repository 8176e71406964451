"""The wire format (DESIGN §2): camelCase, bounds, unknown fields, unknown types kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyclient import InvalidEventsError, canonical_json, dump_events, parse_events
from pyclient.core.codec import parse_known_events
from pyclient.core.models import ContentProgressed, PutProgressRequest, UnknownEvent


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventId": "event-1",
        "occurredAt": "2025-12-22T20:36:50.595Z",
        "clientId": "client-123",
        "type": "content.progressed",
        "payload": {
            "contentId": "promises-vs-reality",
            "status": "passed",
            "score": 100,
            "contentVersion": "v1",
            "interaction": {
                "interactionId": "pattern-recognition-quiz",
                "state": {"kind": "quiz", "selectedOptionId": "c"},
            },
        },
    }
    base.update(overrides)
    return base


def payload(**overrides: Any) -> dict[str, Any]:
    data = event()["payload"]
    data.update(overrides)
    return event(payload=data)


def rejects(item: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidEventsError) as caught:
        parse_events(json.dumps([item]))
    locations = [".".join(str(p) for p in err["loc"]) for err in caught.value.errors]
    assert any(where in loc for loc in locations), locations


def test_the_spec_example_round_trips_byte_for_byte() -> None:
    text = json.dumps([event()], separators=(",", ":"))
    events = parse_events(text)
    assert isinstance(events[0], ContentProgressed)
    assert dump_events(events) == text


def test_optional_payload_keys_stay_absent_never_null() -> None:
    minimal = event(payload={"contentId": "x", "status": "in_progress"})
    assert json.loads(dump_events(parse_events(json.dumps([minimal]))))[0] == minimal


def test_optional_payload_keys_may_not_be_null() -> None:
    rejects(payload(score=None), "score")
    rejects(payload(contentVersion=None), "contentVersion")


@pytest.mark.parametrize("field", ["eventId", "clientId"])
@pytest.mark.parametrize("value", ["", "x" * 129, 7, None])
def test_ids_are_non_empty_strings_of_at_most_128_characters(field: str, value: Any) -> None:
    rejects(event(**{field: value}), field)


def test_an_id_of_exactly_128_characters_is_accepted() -> None:
    assert parse_events(json.dumps([event(eventId="x" * 128)]))[0].event_id == "x" * 128


@pytest.mark.parametrize("field", ["contentId", "contentVersion"])
def test_payload_ids_are_bounded_too(field: str) -> None:
    rejects(payload(**{field: ""}), field)
    rejects(payload(**{field: "y" * 129}), field)


@pytest.mark.parametrize("score", [-1, 100.5, 101, "50", True, 1e309])
def test_score_is_a_finite_number_from_0_to_100(score: Any) -> None:
    rejects(payload(score=score), "score")


@pytest.mark.parametrize("score", [0, 100, 99.5, 0.0])
def test_scores_within_bounds_keep_their_json_type(score: float) -> None:
    parsed = parse_events(json.dumps([payload(score=score)]))
    assert json.loads(dump_events(parsed))[0]["payload"]["score"] == score
    assert type(json.loads(dump_events(parsed))[0]["payload"]["score"]) is type(score)


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2025-12-22",
        "2025-12-22T20:36:50",  # no offset
        "2025-12-22 20:36:50Z",
        "2025-12-22T20:36:50+0100",
        "2025-02-30T00:00:00Z",
        "2025-12-22T24:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "yesterday",
    ],
)
def test_occurred_at_must_be_rfc3339_with_an_offset(occurred_at: str) -> None:
    rejects(event(occurredAt=occurred_at), "occurredAt")


@pytest.mark.parametrize(
    "occurred_at",
    ["2025-12-22T20:36:50Z", "2025-12-22T20:36:50.5+05:30", "2025-12-22t20:36:50.123456789z"],
)
def test_occurred_at_accepts_any_offset_and_precision_and_is_kept_as_written(
    occurred_at: str,
) -> None:
    assert parse_events(json.dumps([event(occurredAt=occurred_at)]))[0].occurred_at == occurred_at


def test_unknown_fields_are_rejected_on_known_events() -> None:
    rejects(event(extra=1), "extra")
    rejects(payload(surprise=True), "surprise")


def test_unknown_status_and_interaction_kind_are_rejected() -> None:
    rejects(payload(status="done"), "status")
    bad = {"interactionId": "q", "state": {"kind": "poll", "selectedOptionId": "a"}}
    rejects(payload(interaction=bad), "kind")


def test_payloadless_events_reject_a_payload() -> None:
    rejects(event(type="progress.reset", payload={}), "payload")
    base = {k: v for k, v in event().items() if k != "payload"}
    assert parse_events(json.dumps([{**base, "type": "onboarding.reset"}]))[0].type == (
        "onboarding.reset"
    )


def test_an_unknown_event_type_is_kept_whole_when_reading_a_log() -> None:
    future = {
        "eventId": "e",
        "occurredAt": "2025-01-01T00:00:00Z",
        "clientId": "c",
        "type": "badge.earned",
        "payload": {"badge": "gold", "n": [1, 2.5]},
    }
    events = parse_events(json.dumps([future]))
    assert isinstance(events[0], UnknownEvent)
    assert json.loads(dump_events(events)) == [future]
    assert json.loads(canonical_json(events[0])) == future


def test_an_unknown_event_type_still_needs_the_base_fields() -> None:
    rejects(
        {"type": "badge.earned", "occurredAt": "2025-01-01T00:00:00Z", "clientId": "c"}, "eventId"
    )


def test_a_known_type_with_a_bad_body_is_not_mistaken_for_an_unknown_type() -> None:
    rejects(payload(status="bogus"), "status")


def test_parse_known_events_rejects_unknown_types() -> None:
    with pytest.raises(InvalidEventsError):
        parse_known_events(json.dumps([event(type="badge.earned")]))


def test_put_request_allows_extra_top_level_fields_and_at_most_500_events() -> None:
    body = {"clientUpdatedAt": "2025-12-22T20:36:50.595Z", "events": [event()], "app": "x"}
    assert len(PutProgressRequest.model_validate_json(json.dumps(body)).events) == 1
    too_many = {**body, "events": [event(eventId=f"e{i}") for i in range(501)]}
    with pytest.raises(ValueError, match="500"):
        PutProgressRequest.model_validate_json(json.dumps(too_many))


def test_python_names_and_camel_case_aliases_both_validate() -> None:
    by_name = ContentProgressed.model_validate(
        {
            "event_id": "e",
            "occurred_at": "2025-01-01T00:00:00Z",
            "client_id": "c",
            "payload": {"content_id": "x", "status": "completed"},
        }
    )
    assert json.loads(canonical_json(by_name))["payload"] == {
        "contentId": "x",
        "status": "completed",
    }


def test_invalid_json_is_an_invalid_events_error() -> None:
    with pytest.raises(InvalidEventsError):
        parse_events("[{")
    with pytest.raises(InvalidEventsError):
        parse_events('{"not": "an array"}')
