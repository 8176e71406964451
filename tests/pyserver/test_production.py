"""The production setup of docs/deploy.md, as documented: three ``python -m pyserver serve``
processes on one PostgreSQL database, sharing a JWT secret, each on its own port (the reverse
proxy spreads requests over them). Concurrent clients write through every process and read
through the others; afterwards nothing is lost or doubled and every process answers alike.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyclient import canonical_json, parse_events, reduce_events

from .conftest import auth, start_server_process, stop_server_process
from .events import many, put_body

PROGRESS = "/api/v1/learning/progress"
PROCESSES = 3
USERS = 3
DEVICES_PER_USER = 3
BATCHES = 12
BATCH_SIZE = 15

pytestmark = pytest.mark.postgres


def _pull_all(client: httpx.Client, user: str, since: str | None = None) -> tuple[list[str], str]:
    """Every event after ``since``, page by page: (eventIds, the last cursor)."""
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 40}
    if since is not None:
        params["since"] = since
    while True:
        response = client.get(PROGRESS, params=params, headers=auth(user))
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        ids += [e["eventId"] for e in data["events"]]
        params["since"] = data["cursor"]
        if not data["hasMore"]:
            return ids, data["cursor"]


def test_three_processes_on_postgresql_lose_nothing_and_agree(
    postgres_url: str, tmp_path: Path
) -> None:
    # Each process gets the documented environment: the same secret (from the conftest), the
    # same database; the PUT rate is per process and per user, and these devices write flat out.
    env = {"PYSERVER_PUT_RATE_LIMIT": "none"}
    servers = [
        start_server_process(postgres_url, tmp_path / f"data-{i}", "--host", "127.0.0.1", env=env)
        for i in range(PROCESSES)
    ]
    errors: list[BaseException] = []
    seen: dict[tuple[str, int], list[str]] = {}
    cursors: dict[tuple[str, int], str | None] = {}

    def device(user: str, number: int) -> None:
        try:
            clients = [httpx.Client(base_url=s.url, timeout=60) for s in servers]
            cursor: str | None = None
            pulled: list[str] = []
            for batch in range(BATCHES):
                writer = clients[(number + batch) % PROCESSES]
                reader = clients[(number + batch + 1) % PROCESSES]
                events = many(f"{user}-d{number}-b{batch}", BATCH_SIZE, start=number * 1000)
                put = writer.put(PROGRESS, json=put_body(events), headers=auth(user))
                assert put.status_code == 200, put.text
                # A retry through another process (as after a lost answer) stores nothing new.
                again = reader.put(PROGRESS, json=put_body(events[:5]), headers=auth(user))
                assert again.status_code == 200, again.text
                ids, cursor = _pull_all(reader, user, cursor)
                pulled += ids
            seen[(user, number)] = pulled
            cursors[(user, number)] = cursor
            for client in clients:
                client.close()
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [
            threading.Thread(target=device, args=(f"learner-{u}", d))
            for u in range(USERS)
            for d in range(DEVICES_PER_USER)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(t.is_alive() for t in threads)
        assert not errors, errors
        expected_per_user = DEVICES_PER_USER * BATCHES * BATCH_SIZE
        for u in range(USERS):
            user = f"learner-{u}"
            answers = []
            for server in servers:
                with httpx.Client(base_url=server.url, timeout=60) as client:
                    response = client.get(PROGRESS, params={"limit": 5000}, headers=auth(user))
                    assert response.status_code == 200
                    answers.append(response.json()["data"])
            events = answers[0]["events"]
            ids = [e["eventId"] for e in events]
            assert len(ids) == len(set(ids)) == expected_per_user  # nothing lost, none twice
            for other in answers[1:]:  # every process answers alike
                assert other["events"] == events
                assert canonical_json(other["snapshot"]) == canonical_json(answers[0]["snapshot"])
            expected = reduce_events(parse_events(json.dumps(events)))
            assert canonical_json(answers[0]["snapshot"]) == canonical_json(expected)
            for d in range(DEVICES_PER_USER):  # each device pulls every event exactly once
                with httpx.Client(base_url=servers[d % PROCESSES].url, timeout=60) as client:
                    rest, _ = _pull_all(client, user, cursors[(user, d)])  # after all writes
                counts = Counter(seen[(user, d)] + rest)
                assert set(counts) == set(ids) and set(counts.values()) == {1}
    finally:
        for server in servers:
            stop_server_process(server)
