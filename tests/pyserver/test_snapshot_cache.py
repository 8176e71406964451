"""The cached, incrementally updated snapshot always equals a full reduction of the log."""

from __future__ import annotations

import json
import tempfile
import uuid
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
