"""The cached, incrementally updated snapshot always equals a full reduction of the log."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pyclient import canonical_json, parse_events, reduce_events
from pyserver import open_storage
from pyserver.snapshots import SnapshotCache

from .events import progressed

_event = st.builds(
    lambda second, item, status, score: (second, item, status, score),
    st.integers(0, 3 * 86400),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["not_started", "in_progress", "completed", "passed"]),
    st.integers(0, 100),
)


def _expected(events: list[dict[str, Any]]) -> str:
    return canonical_json(reduce_events(parse_events(json.dumps(events))))


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(st.lists(_event, max_size=6), min_size=1, max_size=6), restart=st.booleans()
)
def test_the_cached_snapshot_equals_a_full_reduction(
    batches: list[list[tuple[int, str, str, int]]], restart: bool
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        storage = open_storage(f"sqlite:///{Path(directory) / 'cache.sqlite3'}")
        try:
            cache = SnapshotCache(storage)
            user = uuid.uuid4().hex
            log: list[dict[str, Any]] = []
            for number, batch in enumerate(batches):
                events = [
                    progressed(f"e{number}-{i}", second, item, status, score=score)
                    for i, (second, item, status, score) in enumerate(batch)
                ]
                stored = storage.append_events(
                    user, [(e["eventId"], json.dumps(e, separators=(",", ":"))) for e in events]
                )
                log += events
                if restart and number % 2:
                    cache = SnapshotCache(storage)  # another process: only the persisted copy
                assert cache.snapshot_json(user, stored.last_position) == _expected(log)
        finally:
            storage.close()


def test_a_large_in_order_batch_is_folded_into_the_cached_snapshot() -> None:
    with tempfile.TemporaryDirectory() as directory:
        storage = open_storage(f"sqlite:///{Path(directory) / 'cache.sqlite3'}")
        try:
            cache = SnapshotCache(storage)
            user = uuid.uuid4().hex
            statuses = ["in_progress", "completed", "passed", "not_started"]

            def store(events: list[dict[str, Any]]) -> int:
                rows = [(e["eventId"], json.dumps(e, separators=(",", ":"))) for e in events]
                return storage.append_events(user, rows).last_position

            first = [progressed(f"a{i}", i, f"item-{i}", "in_progress") for i in range(300)]
            served = cache.snapshot_json(user, store(first))
            second = [
                progressed(
                    f"b{i}", 1000 + i * 3600, f"item-{i % 400}", statuses[i % 4], score=i % 101
                )
                for i in range(1200)
            ]
            position = store(second)
            assert cache.snapshot_json(user, position) == _expected(first + second)
            assert (cache.full_reductions, cache.incremental_updates) == (1, 1)
            assert cache.snapshot_json(user, position) == _expected(first + second)
            assert served == _expected(first)
        finally:
            storage.close()


def test_concurrent_requests_of_one_user_compute_the_snapshot_once(tmp_path: Path) -> None:
    """Twenty requests of one user at once: one computation, the others wait and reuse it;
    another user's request is not held up by them."""
    storage = open_storage(f"sqlite:///{tmp_path / 'once.sqlite3'}")
    try:
        events = [progressed(f"e{n}", n, f"item-{n % 7}", "completed") for n in range(300)]
        rows = [(e["eventId"], json.dumps(e, separators=(",", ":"))) for e in events]
        position = storage.append_events("busy", rows).last_position
        other = storage.append_events("other", rows[:3]).last_position
        cache = SnapshotCache(storage)
        read = storage.read_events
        started = threading.Event()

        def slow_read(user_id: str, *args: Any, **kwargs: Any) -> Any:
            if user_id == "busy":
                started.set()
                time.sleep(0.3)  # a long fold: every request of this user arrives meanwhile
            return read(user_id, *args, **kwargs)

        storage.read_events = slow_read  # type: ignore[method-assign]
        with ThreadPoolExecutor(max_workers=21) as pool:
            busy = [pool.submit(cache.snapshot_json, "busy", position) for _ in range(20)]
            started.wait(5)
            t0 = time.monotonic()
            assert cache.snapshot_json("other", other) == _expected(events[:3])
            assert time.monotonic() - t0 < 0.25  # not queued behind the busy user
            assert {f.result() for f in busy} == {_expected(events)}
        assert cache.full_reductions + cache.incremental_updates == 2  # busy once, other once
    finally:
        storage.close()
