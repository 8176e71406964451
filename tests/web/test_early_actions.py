"""web/early-actions.js, the page's side of the early-action queue, run under node on the built
dist (tests/web/early_actions_run.mjs): the clientId it shares with pyclient, one key per action
with the stored session's user and a never-decreasing occurredAt, and every value it writes read
back by pyclient's own reader of the queue (the contract of pyclient/store/keys.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyclient.store.keys import CLIENT_ID_KEY, QUEUE_PREFIX, queue_key
from pyclient.store.queue_format import QueuedAction, decode_queued, is_queue_key
from tests.buildsteps.conftest import Build
from tests.web.node_runner import run_node

RUNNER = Path(__file__).with_name("early_actions_run.mjs")


@pytest.fixture(scope="module")
def run(build: Build) -> dict[str, Any]:
    return run_node(RUNNER, build.web / build.manifest["app"], timeout=60)


def test_the_client_id_is_created_once_and_stored_as_pyclient_reads_it(run) -> None:
    first, second, stored = run["createdId"]
    assert first == second and len(first) == 36
    assert json.loads(stored[CLIENT_ID_KEY]) == {"v": 1, "clientId": first}


def test_a_bare_client_id_is_read_as_it_is(run) -> None:
    client_id, stored = run["bareId"]
    assert client_id == "bare-client"
    assert stored == {CLIENT_ID_KEY: "bare-client"}


def test_an_unreadable_client_id_is_kept_aside_not_overwritten(run) -> None:
    client_id, stored = run["badId"]
    aside = f"{CLIENT_ID_KEY}:corrupt:2026-12-01T10:00:00.000Z"
    assert stored[aside] == '{"v":9}'
    assert json.loads(stored[CLIENT_ID_KEY]) == {"v": 1, "clientId": client_id}


def _actions(run) -> list[QueuedAction]:
    storage = run["queued"]["storage"]
    read = [decode_queued(k, v) for k, v in storage.items() if is_queue_key(k)]
    return sorted((a for a in read if isinstance(a, QueuedAction)), key=lambda a: a.key)


def test_every_queued_action_is_one_key_that_pyclient_reads(run) -> None:
    ids = run["queued"]["ids"]
    storage = run["queued"]["storage"]
    for event_id in ids:
        problem = decode_queued(queue_key(event_id), storage[queue_key(event_id)])
        assert isinstance(problem, QueuedAction), problem
        assert problem.event.event_id == event_id
        assert problem.event.client_id == "c-1"
    assert len(set(ids)) == 4


def test_queued_actions_carry_the_stored_session_user_and_their_payload(run) -> None:
    storage = run["queued"]["storage"]
    by_id = {i: json.loads(storage[queue_key(i)]) for i in run["queued"]["ids"]}
    a, b, c, d = (by_id[i] for i in run["queued"]["ids"])
    assert [a["userId"], b["userId"], c["userId"], d["userId"]] == [None, None, None, "u-1"]
    assert a["event"]["type"] == "content.progressed"
    assert a["event"]["payload"] == {"contentId": "lesson-a", "status": "completed"}
    assert c["event"]["payload"] == {"pathId": None}
    assert d["event"]["payload"] == {"pathId": "path-1"}


def test_occurred_at_never_decreases_even_when_the_clock_steps_back(run) -> None:
    storage = run["queued"]["storage"]
    times = [json.loads(storage[queue_key(i)])["event"]["occurredAt"] for i in run["queued"]["ids"]]
    assert times == [
        "2026-12-01T10:00:00.000Z",
        "2026-12-01T10:00:00.001Z",
        "2026-12-01T10:00:00.002Z",
        "2026-12-01T10:05:00.000Z",
    ]


def test_reading_the_queue_skips_values_kept_aside_and_unreadable_ones(run) -> None:
    read = run["queued"]["read"]
    assert [r["event"]["eventId"] for r in read] == run["queued"]["ids"]  # oldest first
    assert all(r["key"] == f"{QUEUE_PREFIX}:{r['event']['eventId']}" for r in read)
    # the unreadable value stays for the engine to set aside
    assert run["queued"]["storage"][f"{QUEUE_PREFIX}:broken"] == "{not json"


def test_the_preview_only_raises_statuses_keeps_the_best_score_and_shows_the_latest_answer(
    run,
) -> None:
    shown = run["preview"]["snapshot"]
    assert shown["content"]["lesson"]["status"] == "completed"  # in_progress after it: no lower
    quiz = shown["content"]["quiz"]
    assert quiz["status"] == "passed" and quiz["score"] == 10
    assert quiz["interactions"] == {"q": None}  # the answer cleared
    assert shown["onboarding"] == {
        "completed": True,
        "pathId": "p",
        "completedAt": "2026-12-01T10:00:00.004Z",
    }
    assert shown["activePathId"] == "p"
    assert shown["lastUpdated"] == "2026-12-01T10:00:00.005Z"
    assert run["preview"]["pendingIds"] == ["lesson", "quiz"]
    assert run["preview"]["baseUnchanged"], "the snapshot it is given is never changed"
    assert run["previewNothing"], "nothing queued: the snapshot itself"
