"""How many realistic events fit in an origin's localStorage, stored formats 1, 2 and 3.

The quota is 5,242,880 UTF-16 code units per origin, keys included, shared by every key. A
signed-in user holds the event log, the snapshot cache, the sync metadata (here with every event
synced, the steady state) and the client id; from version 3 the log is a head and sealed
segments, and a checkpoint (a snapshot of the segments) is stored beside it. Version 3 is
written by ``LocalStore`` itself, as the client writes it. Events come from
``bench/reducer_workload.py`` (all five types, about 500 content ids, about 60 days, UUID
ids). Also prints the time to encode and decode a log in CPython (median of a few runs).

    .venv/bin/python bench/storage_capacity.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client_storage import client_storage, synced_state
from bench.reducer_workload import synthetic_events
from pyclient import Event, dump_events, parse_events, reduce_events
from pyclient.core.codec import gc_paused
from pyclient.store.keys import CLIENT_ID_KEY, checkpoint_key, events_key, snapshot_key, sync_key
from pyclient.store.log_format import decode_log, encode_log
from pyclient.store.packed_ids import pack_ids

QUOTA = 5_242_880
USER = "6f1c2a9e-3b7d-4f21-9a0e-5d8c7b6a4e31"
CLIENT_ID_VALUE = '{"v":1,"clientId":"2b9f0d4e-8c1a-4e6b-b7d3-1f5a9c2e6d80"}'


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def stored_values(events: list[Event], version: int) -> dict[str, str]:
    """Every key of a signed-in user with every event synced, in one stored format."""
    if version == 3:
        return client_storage(events, USER, "2b9f0d4e-8c1a-4e6b-b7d3-1f5a9c2e6d80")
    snapshot = reduce_events(events).model_dump_json(by_alias=True)
    state = synced_state(events)
    if version == 1:
        log = f'{{"v":1,"events":{dump_events(events)}}}'
        sync = f'{{"v":1,"sync":{state.model_dump_json(by_alias=True)}}}'
    else:  # version 2: synced UUID entries as base64url ids
        rest = state.model_copy(update={"events": {}}).model_dump_json(by_alias=True)
        log, sync = (
            encode_log(events),
            f'{{"v":2,"sync":{rest},"synced":"{pack_ids(state.events)}"}}',
        )

    return {
        events_key(USER): log,
        snapshot_key(USER): f'{{"v":1,"snapshot":{snapshot}}}',
        sync_key(USER): sync,
        CLIENT_ID_KEY: CLIENT_ID_VALUE,
    }


def total_size(values: dict[str, str]) -> int:
    return sum(utf16_length(k) + utf16_length(v) for k, v in values.items())


def _events(count: int) -> list[Event]:
    return parse_events(json.dumps(synthetic_events(count)))


def _guest(values: dict[str, str]) -> dict[str, str]:
    """What a guest of the same history stores: no sync metadata (the keys keep their user
    suffix: a few characters)."""
    return {k: v for k, v in values.items() if not k.startswith("learning_progress_sync")}


def capacity(version: int, step: int = 250, *, guest: bool = False) -> tuple[int, dict[str, int]]:
    """The largest event count (to ``step``) whose keys fit the quota; sizes per key."""
    low, high = 0, 200_000
    while high - low > step:
        middle = (low + high) // 2 // step * step
        values = stored_values(_events(middle), version)
        if total_size(_guest(values) if guest else values) <= QUOTA:
            low = middle
        else:
            high = middle
    values = stored_values(_events(low), version)
    sizes: dict[str, int] = {}
    for k, v in values.items():
        kind = k.split(":segment:")[0] if ":segment:" in k else k
        sizes[kind] = sizes.get(kind, 0) + utf16_length(k) + utf16_length(v)
    return low, sizes


def _median_ms(run: Callable[[], object], repeats: int = 3) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        with gc_paused():
            run()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 1)


def main() -> None:
    print(f"quota: {QUOTA:,} UTF-16 code units (keys included)\n")
    print(
        "format  guest fits  signed in fits  log chars/event  log  snapshot  sync  checkpoint"
        "  (signed in, chars at capacity)"
    )
    for version in (1, 2, 3):
        guest, _ = capacity(version, guest=True)
        count, sizes = capacity(version)
        log, snap, sync = (sizes[f(USER)] for f in (events_key, snapshot_key, sync_key))
        point = sizes.get(checkpoint_key(USER), 0)
        print(
            f"v{version}      {guest:>10,}  {count:>14,}  {log / max(count, 1):>15.1f}  "
            f"{log:,}  {snap:,}  {sync:,}  {point:,}"
        )
    print("\nCPython, median ms       encode   decode (read the whole log at start)")
    for count in (10_000, 50_000):
        events = _events(count)
        v1 = f'{{"v":1,"events":{dump_events(events)}}}'
        v2 = encode_log(events)
        assert len(decode_log(v2)[0]) == count
        encoders: dict[str, Callable[[list[Event]], str]] = {"v1": dump_events, "v2": encode_log}
        for name, raw in (("v1", v1), ("v2", v2)):
            encode = encoders[name]
            print(
                f"{name} {count:>6,} events      "
                f"{_median_ms(lambda e=encode, ev=events: e(ev)):>7}  "  # type: ignore[misc]
                f"{_median_ms(lambda r=raw: decode_log(r)):>7}"  # type: ignore[misc]
            )


if __name__ == "__main__":
    main()
