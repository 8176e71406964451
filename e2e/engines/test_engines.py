"""The same learner flows (scenario.py) in Chromium, Firefox ESR and WebKitGTK, each against its
own `python -m pyserver serve --web dist/web --demo` process and a fresh user, each run bounded
by a time limit (a session that cannot start hangs instead of failing), and failing on any
page error: uncaught exceptions, unhandled rejections, console errors (read by the driver in
Chromium and Firefox, through a hook on the page in WebKitGTK).

The browsers are Debian's (scripts/system-packages installs them for the tests): a missing
one fails its test, never skips it. The time of each engine is printed and summarised.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from e2e.engines.driver import Engine, EngineTimeout, time_limit
from e2e.engines.engine_chromium import ChromiumEngine
from e2e.engines.engine_firefox import FirefoxEngine
from e2e.engines.engine_webkit import WebKitEngine
from e2e.engines.scenario import Run, learner_flows, offline_flow
from e2e.servers import LearningServer

pytestmark = pytest.mark.browser

ENGINES = ["chromium", "firefox-esr", "webkitgtk"]
#: The whole run of one engine: start, the flows, quit.
RUN_LIMIT_S = 300
#: Starting the browser session alone.
START_LIMIT_S = 90


def make_engine(name: str, request: pytest.FixtureRequest) -> Engine:
    if name == "chromium":
        return ChromiumEngine(request.getfixturevalue("browser"))
    if name == "firefox-esr":
        return FirefoxEngine()
    return WebKitEngine()


def run_engine(
    engine_name: str,
    flows: Callable[[Run], None],
    server: LearningServer,
    request: pytest.FixtureRequest,
    capsys: Any,
) -> None:
    """`flows` in a fresh browser of the engine, as a fresh user, within the time limits."""
    engine = make_engine(engine_name, request)
    user = (f"learner-{uuid.uuid4().hex[:10]}@example.com", "learner-password")
    server.add_user(*user)
    run = Run(engine, server, user)
    started = time.monotonic()
    try:
        with time_limit(RUN_LIMIT_S, f"{engine.name}: the whole run"):
            try:
                with time_limit(START_LIMIT_S, f"{engine.name}: starting the session"):
                    engine.start()
            except RuntimeError as exc:
                pytest.fail(f"{engine.name} cannot run here: {exc}")
            flows(run)
            engine.quit()
    except EngineTimeout as exc:
        engine.kill()
        pytest.fail(f"{exc} (during step '{run.step}')")
    except BaseException:
        engine.kill()
        raise
    total = time.monotonic() - started
    steps = ", ".join(f"{name} {seconds:.1f}" for name, seconds in run.steps)
    line = f"{request.node.name}: {engine.name} {engine.version}: {total:.1f} s ({steps})"
    request.node.user_properties.append(("engine_time", line))
    with capsys.disabled():
        print(f"\n[engines] {line}")


@pytest.mark.parametrize("engine_name", ENGINES)
def test_learner_flows(
    engine_name: str,
    own_learning_server: LearningServer,
    request: pytest.FixtureRequest,
    capsys: Any,
) -> None:
    run_engine(engine_name, learner_flows, own_learning_server, request, capsys)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_offline_then_online(
    engine_name: str,
    own_learning_server: LearningServer,
    request: pytest.FixtureRequest,
    capsys: Any,
) -> None:
    run_engine(engine_name, offline_flow, own_learning_server, request, capsys)
