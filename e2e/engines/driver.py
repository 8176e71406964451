"""The small driver interface the cross-engine scenarios are written against, and what every
engine shares: evaluating JavaScript (the result comes back as JSON, whatever the driver's own
serialisation), waiting for a condition, the page-error hook, the time limit of a run.

An engine implements six primitives (open a tab, evaluate, click, reload, close a tab, go
offline) and `kill()`; `Tab` builds the rest on them, the same for all three.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: True once the page's client is ready or has failed to start (DESIGN §8).
READY = (
    "document.documentElement.dataset.progressReady === 'true'"
    " || !!document.documentElement.dataset.progressError"
)

#: Installed in every document: records uncaught errors and unhandled rejections (and, where
#: the driver cannot read the console, `console.error` calls) in `window.__e2eErrors`.
ERROR_HOOK = """(() => {
  if (window.__e2eErrors) return
  const errors = (window.__e2eErrors = [])
  const text = (value) => {
    const stack = value && value.stack ? String(value.stack) : ''
    return stack.includes(String(value)) ? stack : `${value}\\n${stack}`
  }
  addEventListener('error', (event) => {
    const target = event.target
    if (target && target !== window && (target.src || target.href)) {
      errors.push(`failed to load ${target.src || target.href}`)
    } else {
      errors.push(`uncaught: ${event.error ? text(event.error) : event.message}`)
    }
  }, true)
  addEventListener('unhandledrejection', (event) => {
    errors.push(`unhandled rejection: ${text(event.reason)}`)
  })
  if (__CONSOLE__) {
    const original = console.error
    console.error = function (...args) {
      errors.push(`console.error: ${args.map(text).join(' ')}`)
      return original.apply(this, args)
    }
  }
})()"""


def error_hook(console_readable: bool) -> str:
    """The hook; it wraps `console.error` only where the driver cannot read the console."""
    return ERROR_HOOK.replace("__CONSOLE__", "false" if console_readable else "true")


def wrap(expression: str) -> str:
    """`expression` (awaited if a promise) as a promise of a JSON string: {ok} or {error}."""
    return (
        "(async () => { try { const v = await (" + expression + ");"
        " return JSON.stringify({ ok: v === undefined ? null : v }) }"
        " catch (e) { return JSON.stringify({ error: String((e && e.stack) || e) }) } })()"
    )


class EngineTimeout(Exception):
    """A run went past its engine's time limit (a session that hangs instead of failing)."""


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise EngineTimeout in the main thread if the block lasts longer than `seconds`: a
    blocked read from a hung driver is interrupted too (SIGALRM)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise EngineTimeout(f"{what}: no result within {seconds:.0f} s (a hung session?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Engine:
    """One browser (one profile) of one engine. Subclasses implement the primitives."""

    name = "engine"
    #: Whether the driver reads the page's console (else the hook wraps console.error).
    console_readable = True
    #: Whether the driver can take the browser offline (navigator.onLine false, fetch fails);
    #: where not, the scenario stops the server instead.
    can_go_offline = True
    version = ""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.tabs: list[Tab] = []

    # the primitives -------------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def _open(self, url: str) -> Any:
        """A new tab (or window) of this browser at `url`, the error hook in place; its handle."""
        raise NotImplementedError

    def _eval(self, handle: Any, expression: str) -> str:
        """`expression` evaluated in the tab: must return the string it evaluates to."""
        raise NotImplementedError

    def _click(self, handle: Any, selector: str) -> None:
        raise NotImplementedError

    def _reload(self, handle: Any) -> None:
        raise NotImplementedError

    def _close(self, handle: Any) -> None:
        raise NotImplementedError

    def set_offline(self, offline: bool) -> None:
        raise NotImplementedError

    def native_errors(self) -> list[str]:
        """Errors the driver itself saw (uncaught, console errors) since the last call."""
        return []

    def quit(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        """Stop every process of this engine, whatever state it is in (after a timeout)."""
        raise NotImplementedError

    # built on them --------------------------------------------------------------------------
    def open_tab(self, url: str) -> Tab:
        tab = Tab(self, self._open(url), len(self.tabs) + 1)
        self.tabs.append(tab)
        return tab

    def page_errors(self) -> list[str]:
        """Every page error so far: the driver's and each open tab's hook."""
        for tab in self.tabs:
            tab.collect_errors()
        self.errors += self.native_errors()
        return list(self.errors)


class Tab:
    def __init__(self, engine: Engine, handle: Any, number: int) -> None:
        self.engine = engine
        self.handle = handle
        self.number = number

    def eval(self, expression: str) -> Any:
        raw = self.engine._eval(self.handle, wrap(expression))
        result = json.loads(raw)
        if "error" in result:
            raise AssertionError(
                f"{self.engine.name} tab {self.number}: {expression!r} threw {result['error']}"
            )
        return result["ok"]

    def wait(self, predicate: str, what: str, timeout_s: float = 30) -> Any:
        """Poll the JS `predicate` until it is truthy; its value. Fails saying `what`."""
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            last = self.eval(predicate)
            if last:
                return last
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.engine.name} tab {self.number}: {what}: not within {timeout_s:.0f} s "
                    f"(status {self.eval('window.progressClient?.status ?? null')})"
                )
            time.sleep(0.1)

    def wait_ready(self) -> None:
        self.wait(f"({READY})", "the progress client ready", timeout_s=90)
        error = self.eval("document.documentElement.dataset.progressError || null")
        assert error is None, f"{self.engine.name}: the progress client failed to start: {error}"

    def click(self, testid: str, extra: str = "") -> None:
        """A real click (the driver's input events) on the control with `testid`, once it is
        on screen and enabled."""
        selector = f"[data-testid='{testid}']{extra}"
        self.wait(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " return !!el && !el.disabled })()",
            f"{selector} on screen and enabled",
        )
        self.engine._click(self.handle, selector)

    def route(self, hash_route: str) -> None:
        """Go to a hash route of the page (same document)."""
        self.eval(f"(location.hash = {json.dumps(hash_route)})")

    def reload(self) -> None:
        self.collect_errors()
        self.engine._reload(self.handle)
        self.wait_ready()

    def close(self) -> None:
        self.collect_errors()
        self.engine._close(self.handle)
        self.engine.tabs.remove(self)

    def collect_errors(self) -> None:
        found = self.eval("(window.__e2eErrors || []).splice(0)")
        self.engine.errors += [f"tab {self.number}: {e}" for e in found]

    # the progress client (DESIGN §8)
    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = self.eval("window.progressClient.snapshot")
        return snap

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = self.eval("window.progressClient.status")
        return st

    def item(self, content_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.snapshot()["content"].get(content_id)
        return item

    def wait_item(self, content_id: str, condition: str, timeout_s: float = 30) -> dict[str, Any]:
        """Wait until the snapshot's item satisfies `condition` (JS, on `item`); the item."""
        found: dict[str, Any] = self.wait(
            f"(() => {{ const item = window.progressClient.snapshot.content"
            f"[{json.dumps(content_id)}]; return item && ({condition}) ? item : null }})()",
            f"{content_id}: {condition}",
            timeout_s,
        )
        return found

    def wait_status(self, condition: str, timeout_s: float = 30) -> dict[str, Any]:
        """Wait until `status` (JS, the client's status) satisfies `condition`; the status."""
        found: dict[str, Any] = self.wait(
            f"(() => {{ const status = window.progressClient.status;"
            f" return ({condition}) ? status : null }})()",
            f"status: {condition}",
            timeout_s,
        )
        return found
