"""No event is ever skipped: 8 concurrent writers for one user while a reader polls ``since``.

Runs against ``python -m pyserver serve`` as separate processes, on both backends: one server,
and two servers sharing the database (writers spread over both, the reader on one).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import auth, start_server_process, stop_server_process
from .events import many, put_body

PROGRESS = "/api/v1/learning/progress"
WRITERS = 8
BATCHES = 15
BATCH_SIZE = 20


@pytest.mark.parametrize("processes", [1, 2])
def test_a_polling_reader_gets_every_event_exactly_once_under_concurrent_writers(
    database_url: str, tmp_path: Path, processes: int
) -> None:
    # The writers stand for many devices writing flat out at once: this is about positions, so
    # the per-user PUT rate limit (tested in test_write_limits.py) is off.
    unlimited = {"PYSERVER_PUT_RATE_LIMIT": "none"}
    servers = [
        start_server_process(database_url, tmp_path / "data", env=unlimited)
        for _ in range(processes)
    ]
    server = servers[0]
    headers = auth("learner")
    errors: list[BaseException] = []
    writers_done = threading.Event()
    received: list[str] = []

    def write(worker: int) -> None:
        try:
            url = servers[worker % len(servers)].url
            with httpx.Client(base_url=url, timeout=60) as client:
                for batch in range(BATCHES):
                    events = many(f"w{worker}-b{batch}", BATCH_SIZE, start=worker * 1000)
                    response = client.put(PROGRESS, json=put_body(events), headers=headers)
                    assert response.status_code == 200, response.text
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                params: dict[str, Any] = {"limit": 37}
                while True:
                    finished = writers_done.is_set()  # read before polling: a last full drain
                    response = client.get(PROGRESS, params=params, headers=headers)
                    assert response.status_code == 200, response.text
                    data = response.json()["data"]
                    received.extend(e["eventId"] for e in data["events"])
                    params["since"] = data["cursor"]
                    if finished and not data["hasMore"]:
                        return
        except BaseException as exc:
            errors.append(exc)

    try:
        reader = threading.Thread(target=read)
        writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        reader.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        writers_done.set()
        reader.join(timeout=120)
        assert not reader.is_alive()
    finally:
        for each in servers:
            stop_server_process(each)
    assert not errors, errors
    expected = {
        f"w{w}-b{b}-{i}"
        for w in range(WRITERS)
        for b in range(BATCHES)
        for i in range(w * 1000, w * 1000 + BATCH_SIZE)
    }
    duplicates = [event_id for event_id, n in Counter(received).items() if n > 1]
    assert not duplicates
    assert set(received) == expected
