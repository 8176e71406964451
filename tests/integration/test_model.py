"""A randomized model test of the sync engine against a real ``pyserver``: several profiles
and their tabs at once.

Each scenario simulates a few browser profiles ("clients"), each with one storage shared by one
or two tabs (one :class:`SyncEngine` per tab, one lock per profile like Web Locks, ``storage``
events delivered late), and one server process shared by every scenario (fresh user ids per
scenario; two users, each client signs in as one of them). A seeded random walk interleaves:
recording events of every type, a wall clock stepping back, syncs (manual, debounce and retry
timers, on ``online`` and visibility), syncs left running in the background while the tab goes
on, injected failures (a 500, a network error before the request, the response lost after the
server committed), offline periods, sign-in and sign-out, and reloads (the engine dropped, even
in the middle of a sync, and a new one built on the same storage).

At the end every client goes online, signs in and syncs until nothing is pending. Then, for
each user, the server and every tab signed in as that user hold the same event set, the same
byte-identical canonical snapshot (the client's, a reduction of the server's events, and the
server's own snapshot), and no event recorded for that user (or recorded as a guest on one of
its clients, merged at sign-in) is missing.

``MODEL_SCENARIOS`` (default 200) sets how many scenarios run, ``MODEL_SEED`` (default 1) the
first seed; a failure names the seed of the scenario, which reruns alone with
``MODEL_SEED=<seed> MODEL_SCENARIOS=1``.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from pyclient.store.local_store import LocalStore
from pyserver.auth import TokenIssuer

from .conftest import Server
from .model_world import World

SCENARIOS = int(os.environ.get("MODEL_SCENARIOS", "200"))
FIRST_SEED = int(os.environ.get("MODEL_SEED", "1"))


async def run_scenario(seed: int, server: Server, issuer: TokenIssuer) -> World:
    world = World(seed, server, issuer)
    for _ in range(world.rng.randint(30, 80)):
        await world.step()
    await world.quiesce()
    world.check()
    return world


def test_random_interleavings_converge_and_lose_nothing(
    server: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Segments of 8 events: every scenario seals segments, reloads from checkpoints and reads
    # the rest of its history in slices between the other actions (the "history" step).
    monkeypatch.setattr(LocalStore, "seal_at", 8)
    secret = server.env["PYSERVER_JWT_SECRET"]
    issuer = TokenIssuer(secret)
    # Tokens are issued in-process with the server's secret (one process per token would be
    # slow); check once that they match what `pyserver token` issues.
    assert server.events(server.token("model-cli-check")) == []
    started = time.monotonic()
    steps = requests = faults = 0
    for seed in range(FIRST_SEED, FIRST_SEED + SCENARIOS):
        try:
            world = asyncio.run(run_scenario(seed, server, issuer))
        except BaseException as exc:
            raise AssertionError(
                f"model scenario failed with seed {seed} "
                f"(rerun: MODEL_SEED={seed} MODEL_SCENARIOS=1): {exc!r}"
            ) from exc
        steps += world.steps
        requests += world.requests
        faults += world.faults
    with capsys.disabled():
        print(
            f"\nmodel test: {SCENARIOS} scenarios, {steps} steps, {requests} requests "
            f"({faults} failures injected) in {time.monotonic() - started:.1f} s"
        )
