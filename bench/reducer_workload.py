"""The reducer benchmark's workload and timings; the same file runs in CPython and in Pyodide.

Synthetic but realistic logs: all five event types, about 500 content ids, about 60 days,
three devices, UUID event ids, scores, versions and quiz interactions.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

from pyclient import LearningGuestProgress, parse_events, reduce_events
from pyclient.core.reducer import apply_event, reduce_json

_START_MS = 1_764_547_200_000  # 2025-12-01T00:00:00Z
_SPAN_MS = 60 * 86_400_000


def _median(samples: list[float]) -> float:
    """The median (the page's standard library has no ``statistics``: it is cut to what the
    client imports)."""
    ordered = sorted(samples)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _timestamp(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def synthetic_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    clients = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(3)]
    stamps = sorted(_START_MS + rng.randrange(_SPAN_MS) for _ in range(count))
    events: list[dict[str, Any]] = []
    for ms in stamps:
        event: dict[str, Any] = {
            "eventId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "occurredAt": _timestamp(ms),
            "clientId": rng.choice(clients),
        }
        roll = rng.random()
        if roll < 0.95:
            content = rng.randrange(500)
            payload: dict[str, Any] = {
                "contentId": f"content-{content:03d}",
                "status": rng.choice(["in_progress", "in_progress", "completed", "passed"]),
            }
            if rng.random() < 0.5:
                payload["score"] = rng.randint(0, 100)
            if rng.random() < 0.3:
                payload["contentVersion"] = f"v{rng.randint(1, 3)}"
            if content % 2 == 0 and rng.random() < 0.6:
                option = (
                    None
                    if rng.random() < 0.2
                    else {"kind": "quiz", "selectedOptionId": rng.choice("abcd")}
                )
                payload["interaction"] = {
                    "interactionId": f"quiz-{content:03d}-q1",
                    "state": option,
                }
            event.update(type="content.progressed", payload=payload)
        elif roll < 0.97:
            event.update(
                type="onboarding.completed", payload={"pathId": f"path-{rng.randrange(3)}"}
            )
        elif roll < 0.975:
            event.update(type="onboarding.reset")
        elif roll < 0.9995:
            path = rng.choice([None, "path-0", "path-1", "path-2"])
            event.update(type="activePath.set", payload={"pathId": path})
        else:
            event.update(type="progress.reset")
        events.append(event)
    rng.shuffle(events)  # logs are not stored in order
    return events


def _median_ms(samples: list[float]) -> float:
    return round(_median(samples) * 1000, 3)


def _time_reduce_json(text: str, repeats: int) -> dict[str, Any]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        reduce_json(text)
        samples.append(time.perf_counter() - started)
    return {"ms": _median_ms(samples), "bytes": len(text)}


def measure(sizes: list[int], repeats: int = 5) -> dict[str, Any]:
    """Median ms of JSON text → snapshot per size (and for the largest, of the same log without
    its progress.reset events: the reducer then folds every event, not only those after the
    last reset), and of one incremental application."""
    results: dict[str, Any] = {"full": {}}
    for size in sizes:
        text = json.dumps(synthetic_events(size))
        runs = repeats if size < 100_000 else max(3, repeats // 2)
        results["full"][str(size)] = _time_reduce_json(text, runs)
    if sizes:
        size = max(sizes)
        log = [e for e in synthetic_events(size) if e["type"] != "progress.reset"]
        runs = repeats if size < 100_000 else max(3, repeats // 2)
        results["no_reset"] = {"events": len(log), **_time_reduce_json(json.dumps(log), runs)}

    # One incremental application on a 10k-event snapshot, for an event sorting after the log.
    base = reduce_events(parse_events(json.dumps(synthetic_events(10_000))))
    later = parse_events(
        json.dumps(
            [
                {
                    "eventId": str(uuid.UUID(int=i + 1, version=4)),
                    "occurredAt": _timestamp(_START_MS + _SPAN_MS + 1000 * i),
                    "clientId": "bench",
                    "type": "content.progressed",
                    "payload": {
                        "contentId": f"content-{i % 500:03d}",
                        "status": "passed",
                        "score": 90,
                        "interaction": {
                            "interactionId": f"quiz-{i % 500:03d}-q1",
                            "state": {"kind": "quiz", "selectedOptionId": "b"},
                        },
                    },
                }
                for i in range(2000)
            ]
        )
    )
    samples = []
    snapshot: LearningGuestProgress = base
    for event in later:
        started = time.perf_counter()
        snapshot = apply_event(snapshot, event)
        samples.append(time.perf_counter() - started)
    results["incremental_ms"] = _median_ms(samples)
    results["incremental_p95_ms"] = round(sorted(samples)[int(len(samples) * 0.95)] * 1000, 3)
    return results
