"""reduce_json equals reduce_events(parse_events(text)), for every text: the same snapshot
byte for byte, or the same error. Most logs take its fast path (plain decoded JSON read
straight into the reducer); anything unusual is left to parse_events, never accepted wrongly.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient import InvalidEventsError, canonical_json, parse_events, reduce_events
from pyclient.core import reducer
from pyclient.core.reducer import STATUS_RANK, reduce_json

settings.register_profile("default", deadline=None, max_examples=150)
settings.load_profile("default")


def reference(text: str) -> str | tuple[str, Any]:
    """What parse_events then reduce_events give: the canonical snapshot, or the error."""
    try:
        return canonical_json(reduce_events(parse_events(text)))
    except InvalidEventsError as exc:
        return str(exc), exc.errors


def through_reduce_json(text: str | bytes) -> str | tuple[str, Any]:
    try:
        return canonical_json(reduce_json(text))
    except InvalidEventsError as exc:
        return str(exc), exc.errors


def takes_fast_path(text: str) -> bool:
    try:
        reducer._reduce_plain(text)
    except reducer._Unusual:
        return False
    return True


# --------------------------------------------------------------------------- generated logs


@st.composite
def snapshot_form(draw: st.DrawFn) -> str:
    """A timestamp as clients write it (UTC, milliseconds, Z); few instants, so ties are common;
    the days cross a month end and a leap day."""
    day = draw(st.sampled_from(["2024-02-28", "2024-02-29", "2024-03-01", "2024-12-31"]))
    hour = draw(st.sampled_from(["00", "09", "23"]))
    ms = draw(st.sampled_from(["000", "500", "999"]))
    return f"{day}T{hour}:30:00.{ms}Z"


def _payload(draw: st.DrawFn) -> dict[str, Any]:
    content_id = draw(st.sampled_from(["lesson-1", "lesson-2", "quiz-1"]))
    payload: dict[str, Any] = {
        "contentId": content_id,
        "status": draw(st.sampled_from(list(STATUS_RANK))),
    }
    if draw(st.booleans()):
        payload["score"] = draw(st.one_of(st.integers(0, 100), st.sampled_from([0.0, 12.5, 100.0])))
    if draw(st.booleans()):
        payload["contentVersion"] = draw(st.sampled_from(["v1", "v2"]))
    if draw(st.booleans()):
        option = draw(st.sampled_from([None, "a", "b"]))
        state = None if draw(st.booleans()) else {"kind": "quiz", "selectedOptionId": option}
        payload["interaction"] = {"interactionId": f"{content_id}-q", "state": state}
    return payload


@st.composite
def plain_events(draw: st.DrawFn, event_ids: st.SearchStrategy[str]) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["content.progressed"] * 6
            + ["onboarding.completed", "onboarding.reset", "activePath.set", "progress.reset"]
            + ["badge.earned"]  # a type from a newer client
        )
    )
    event: dict[str, Any] = {
        "eventId": draw(event_ids),
        "occurredAt": draw(snapshot_form()),
        "clientId": draw(st.sampled_from(["client-a", "client-b"])),
        "type": kind,
    }
    if kind == "content.progressed":
        event["payload"] = _payload(draw)
    elif kind == "onboarding.completed":
        event["payload"] = {"pathId": draw(st.sampled_from(["path-a", "path-b"]))}
    elif kind == "activePath.set":
        event["payload"] = {"pathId": draw(st.sampled_from([None, "path-a"]))}
    elif kind == "badge.earned" and draw(st.booleans()):
        event["payload"] = {"level": draw(st.integers(1, 3)), "tags": ["x"]}
    return event


#: Logs in any order (late events included) whose eventIds may collide, the copies equal or not.
logs = st.lists(plain_events(st.sampled_from([f"e-{i}" for i in range(10)])), max_size=25)


@given(logs, st.lists(st.integers(0, 24), max_size=8), st.randoms())
def test_reduce_json_equals_reducing_the_parsed_events(
    raw: list[dict[str, Any]], repeats: list[int], rnd: Any
) -> None:
    log = raw + [copy.deepcopy(raw[i % len(raw)]) for i in repeats] if raw else []
    rnd.shuffle(log)
    text = json.dumps(log)
    expected = reference(text)
    assert through_reduce_json(text) == expected
    assert through_reduce_json(text.encode()) == expected


@given(
    logs,
    st.lists(
        st.sampled_from(
            [
                "2024-02-29T09:30:00.5Z",
                "2024-02-29T10:30:00.500+01:00",
                "2024-02-29t09:30:00.500z",
                "2024-02-29T09:30:00.500123Z",
                "2024-03-01T00:30:00.999-00:00",
            ]
        ),
        max_size=3,
    ),
)
def test_a_log_with_timestamps_in_other_forms_gives_the_same_as_well(
    raw: list[dict[str, Any]], others: list[str]
) -> None:
    log = copy.deepcopy(raw)
    for i, stamp in enumerate(others):
        if i < len(log):
            log[i]["occurredAt"] = stamp  # the same instants as some of the usual form
    text = json.dumps(log)
    assert through_reduce_json(text) == reference(text)


@given(st.lists(plain_events(st.uuids().map(str)), max_size=25))
def test_a_log_as_clients_write_it_takes_the_fast_path(raw: list[dict[str, Any]]) -> None:
    text = json.dumps(raw, separators=(",", ":"))
    assert takes_fast_path(text)
    assert canonical_json(reducer._reduce_plain(text)) == reference(text)


@given(logs)
def test_copies_of_one_event_take_the_fast_path_unless_an_unknown_type_differs(
    raw: list[dict[str, Any]],
) -> None:
    text = json.dumps(raw)
    copies: dict[str, list[dict[str, Any]]] = {}
    for event in raw:
        copies.setdefault(event["eventId"], []).append(event)
    unknown_differs = any(
        any(c != group[0] for c in group) and any(c["type"] == "badge.earned" for c in group)
        for group in copies.values()
    )
    assert takes_fast_path(text) is not unknown_differs


# --------------------------------------------------------------------------- unusual and invalid

_VALID: dict[str, Any] = {
    "eventId": "e-1",
    "occurredAt": "2025-12-22T20:36:50.595Z",
    "clientId": "client-1",
    "type": "content.progressed",
    "payload": {
        "contentId": "lesson",
        "status": "passed",
        "score": 100,
        "contentVersion": "v1",
        "interaction": {
            "interactionId": "quiz-1",
            "state": {"kind": "quiz", "selectedOptionId": "c"},
        },
    },
}
_PATHS: list[tuple[str, ...]] = [
    ("eventId",),
    ("occurredAt",),
    ("clientId",),
    ("type",),
    ("payload",),
    ("payload", "contentId"),
    ("payload", "status"),
    ("payload", "score"),
    ("payload", "contentVersion"),
    ("payload", "interaction"),
    ("payload", "interaction", "interactionId"),
    ("payload", "interaction", "state"),
    ("payload", "interaction", "state", "kind"),
    ("payload", "interaction", "state", "selectedOptionId"),
]
_ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    -0.0,
    100.5,
    101,
    1e400,
    "",
    "x" * 128,
    "x" * 129,
    "é",
    "passed",
    "quiz",
    "badge.earned",
    "onboarding.reset",
    "2025-12-22T20:36:50.595z",
    "2025-12-22t20:36:50.595Z",
    "2025-12-22T20:36:50.595+00:00",
    "2025-12-22T20:36:50Z",
    "2025-12-22T20:36:50.5951Z",
    "2025-02-30T20:36:50.595Z",
    "0000-01-01T00:00:00.000Z",
    "2025-12-22T24:00:00.000Z",
    "2025-12-22T20:60:50.595Z",
    "2025-12-22T20:36:60.595Z",
    "2025-12-22T20:36:50.595Z\n",
    "\uff12025-12-22T20:36:50.595Z",  # a full-width digit
    "2030-01-01T00:00:00.000Z",
    [],
    {},
    {"kind": "quiz"},
    {"kind": "quiz", "selectedOptionId": None},
    {"interactionId": "q", "state": None},
    {"pathId": "p"},
]
_ODD_KEYS = ["event_id", "occurred_at", "client_id", "payload", "extra", "content_id"]


def _altered(kind: str, path: tuple[str, ...], value: Any) -> dict[str, Any] | None:
    event = copy.deepcopy(_VALID)
    event["type"] = kind
    if kind == "activePath.set":
        event["payload"] = {"pathId": "p"}
    elif kind == "onboarding.reset":
        del event["payload"]
    target: Any = event
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        return None
    if value is KeyError:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return event


@pytest.mark.parametrize("kind", ["content.progressed", "activePath.set", "onboarding.reset"])
@pytest.mark.parametrize("path", _PATHS, ids=".".join)
def test_an_altered_event_is_rejected_or_reduced_exactly_as_by_parse_events(
    kind: str, path: tuple[str, ...]
) -> None:
    for value in [*_ODD_VALUES, KeyError]:
        event = _altered(kind, path, value)
        if event is None:
            continue
        for log in ([_VALID | {"eventId": "e-0"}, event], [event, event | {"eventId": "e-2"}]):
            text = json.dumps(log)
            assert through_reduce_json(text) == reference(text), (path, value)


@pytest.mark.parametrize("key", _ODD_KEYS)
def test_an_extra_key_is_rejected_or_reduced_exactly_as_by_parse_events(key: str) -> None:
    for value in [None, "e-9", 1, "2030-01-01T00:00:00.000Z"]:
        for kind in ["content.progressed", "later.type"]:
            event = copy.deepcopy(_VALID) | {"type": kind, key: value}
            payload_extra = copy.deepcopy(_VALID)
            payload_extra["payload"][key] = value
            for log in ([event], [payload_extra]):
                text = json.dumps(log)
                assert through_reduce_json(text) == reference(text), (key, value, kind)


def test_a_copy_dropped_for_another_is_still_checked() -> None:
    kept = copy.deepcopy(_VALID)
    kept["clientId"] = "a"  # sorts first: the preferred copy
    invalid = copy.deepcopy(_VALID)
    invalid["clientId"] = "b"
    invalid["payload"]["score"] = 101
    for log in ([kept, invalid], [invalid, kept]):
        text = json.dumps(log)
        assert isinstance(reference(text), tuple)  # parse_events rejects the log
        assert through_reduce_json(text) == reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        "[1]",
        "[[]]",
        "null",
        "[] []",
        '[{"eventId": "e1"}]',
        '[{"eventId": "e1", "occurredAt": "2025-01-01T00:00:00.000Z", "clientId": "c",'
        ' "type": "x", "v": NaN}]',
        '[{"eventId": "e1", "occurredAt": "2025-01-01T00:00:00.000Z", "clientId": "c",'
        ' "type": "x", "eventId": "e2"}]',
        '[{"eventId": "e1", "occurredAt": "2025-01-01T00:00:00.000Z", "clientId": "c",'
        ' "type": "progress.reset", "type": "onboarding.reset"}]',
        '[{"eventId": "e1", "occurredAt": "2025-01-01T00:00:00.000Z", "clientId": "c",'
        ' "type": "content.progressed", "payload": {"contentId": "l", "status": "passed",'
        ' "score": 1e2, "interaction": {"interactionId": "q", "state": {"selectedOptionId":'
        ' "a"}}}}]',
    ],
)
def test_unusual_texts_give_what_parse_events_gives(text: str) -> None:
    assert through_reduce_json(text) == reference(text)


def test_timestamps_are_checked_one_by_one_not_only_joined() -> None:
    # two invalid timestamps that, written one after the other, read as two valid ones
    short = _VALID | {"occurredAt": "2025-12-22T20:36:50.595"}
    long = _VALID | {"eventId": "e-2", "occurredAt": "Z2025-12-22T20:36:50.595Z"}
    text = json.dumps([short, long])
    assert isinstance(reference(text), tuple)
    assert through_reduce_json(text) == reference(text)


def test_invalid_utf8_is_rejected_as_by_parse_events() -> None:
    data = b'[{"eventId": "\xff"}]'
    with pytest.raises(InvalidEventsError) as parsed:
        parse_events(data)
    with pytest.raises(InvalidEventsError) as reduced:
        reduce_json(data)
    assert str(reduced.value) == str(parsed.value)


def test_copies_whose_scores_differ_only_in_type_keep_the_first_as_reduce_events_does() -> None:
    one = copy.deepcopy(_VALID)
    one["payload"]["score"] = 50
    other = copy.deepcopy(one)
    other["payload"]["score"] = 50.0
    for log in ([one, other], [other, one]):
        text = json.dumps(log)
        assert takes_fast_path(text)
        assert through_reduce_json(text) == reference(text)


def test_the_fold_starts_after_the_last_reset_whatever_came_before() -> None:
    before = copy.deepcopy(_VALID)
    before["occurredAt"] = "2025-12-22T20:36:50.590Z"
    reset = {k: v for k, v in _VALID.items() if k != "payload"} | {
        "eventId": "e-2",
        "type": "progress.reset",
    }
    after = copy.deepcopy(_VALID) | {"eventId": "e-3", "occurredAt": "2025-12-22T20:36:50.600Z"}
    text = json.dumps([after, reset, before])
    snapshot = reduce_json(text)
    assert list(snapshot.content) == ["lesson"]
    assert snapshot.content["lesson"].first_attempt_at == "2025-12-22T20:36:50.600Z"
    assert snapshot.last_updated == "2025-12-22T20:36:50.600Z"
    assert canonical_json(snapshot) == reference(text)
