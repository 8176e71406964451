"""What every browser test does with a page: record its requests, console and errors, open it
and wait for the progress client, save screenshots, and fill or free localStorage; and what
every browser context of a test is watched for: Content-Security-Policy violations and
documents served without a policy (``CspWatch``, which conftest.py asserts after each test).

A note for tests: ``page.wait_for_function`` takes a function (``"() => ..."``), not a bare
expression: Playwright evaluates a bare expression with ``eval`` on every poll, which the
page's policy refuses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from e2e.chromium import READY

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

# Registers the worker through the page's own module (page/offline.js, served beside the bundle
# that holds it), as the page does once its client is ready (a second registration of the same
# script is a no-op), and waits until the worker that controls the page is the activated one of
# `sw.js` with nothing left installing or waiting.
INSTALL_SW = """async (app) => {
  const { registerServiceWorker } = await import(`./${app}/page/offline.js`)
  const registration = await registerServiceWorker()
  if (!registration) return 'not registered'
  await registration.update()
  const settled = () => registration.active?.state === 'activated'
    && !registration.installing && !registration.waiting && navigator.serviceWorker.controller
    && navigator.serviceWorker.controller.scriptURL === registration.active.scriptURL
  for (let i = 0; i < 600 && !settled(); i++) await new Promise((r) => setTimeout(r, 100))
  return settled() ? registration.active.state : 'not settled'
}"""


def dist_app(web: Path) -> str:
    """The page's app-<hash> directory in the dist `web` (build.json's "app")."""
    return str(json.loads((web / "build.json").read_text())["app"])


def install_service_worker(page: Any, web: Path) -> None:
    """The page's service worker installed and controlling it (`web`: the dist it serves)."""
    state = page.evaluate(INSTALL_SW, dist_app(web))
    assert state == "activated", state


# Fills the origin's localStorage with filler keys until not even 16 characters fit.
FILL_STORAGE = """() => {
  let chunk = 'x'.repeat(1 << 20), n = 0
  while (chunk.length >= 16) {
    try {
      localStorage.setItem('e2e-filler-' + n, chunk)
      n++
    } catch (e) {
      chunk = chunk.slice(chunk.length / 2)
    }
  }
  return n
}"""
FREE_STORAGE = """() => Object.keys(localStorage).filter((k) => k.startsWith('e2e-filler-'))
  .forEach((k) => localStorage.removeItem(k))"""


@dataclass
class PageLog:
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        """Record `page`'s requests, console messages and uncaught errors from now on."""
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def external_requests(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in {"data", "blob", "about"}:
                continue
            if parts.hostname != "127.0.0.1":
                out.append(url)
        return out

    def errors(self) -> list[str]:
        return [t for kind, t in self.console if kind == "error"] + self.page_errors


#: The binding through which the page's documents hand their CSP violations to the test.
CSP_BINDING = "__e2eCspViolation"
#: Runs before the page's own scripts in every frame of a watched context: each
#: ``securitypolicyviolation`` the document sees, described, to ``CSP_BINDING``.
CSP_LISTENER = """addEventListener('securitypolicyviolation', (e) => {
  const where = e.sourceFile ? ` at ${e.sourceFile}:${e.lineNumber}` : ''
  const sample = e.sample ? ` (${e.sample})` : ''
  globalThis.BINDING?.(`${e.effectiveDirective} refused ${e.blockedURI || 'inline'}${where}`
    + `${sample} on ${location.href}`)
}, true)""".replace("BINDING", CSP_BINDING)


@dataclass
class CspWatch:
    """The Content-Security-Policy violations of every page and frame of the contexts it
    watches: the ``securitypolicyviolation`` events their documents fire (``CSP_LISTENER``),
    the browser's console reports of a refusal, and uncaught errors that are one (an ``eval``
    refused); and every document from a server that came without a policy, service worker
    answers included. Workers' own violations are not seen: Playwright hands on neither their
    console nor a way to listen inside them before their script runs."""

    violations: list[str] = field(default_factory=list)
    unprotected: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def watch(self, context: Any) -> Any:
        """Watch `context` (before it opens a page) and return it."""
        context.expose_binding(CSP_BINDING, lambda source, text: self._add("event", str(text)))
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)
        context.on("weberror", self._error)
        context.on("response", self._response)
        context.on("close", lambda ctx: self.contexts.remove(ctx) if ctx in self.contexts else 0)
        self.contexts.append(context)
        return context

    def _add(self, source: str, text: str) -> None:
        self.violations.append(f"{source}: {text}")

    def _console(self, message: Any) -> None:
        if message.type in {"error", "warning"} and "Content Security Policy" in message.text:
            self._add("console", message.text)

    def _error(self, error: Any) -> None:
        if "Content Security Policy" in str(error.error):
            self._add("error", str(error.error))

    def _response(self, response: Any) -> None:
        if response.request.resource_type != "document" or not response.url.startswith("http"):
            return
        if "content-security-policy" not in response.headers:
            self.unprotected.append(f"{response.status} {response.url}")

    def settle(self) -> None:
        """Take in what the open pages have reported so far (a round trip to each)."""
        for context in list(self.contexts):
            for page in context.pages:
                try:
                    page.evaluate("0")
                except Exception:  # closed or crashed meanwhile: nothing to wait for
                    continue

    def take(self) -> list[str]:
        """The violations reported since the last take (then forgotten)."""
        self.settle()
        taken, self.violations[:] = list(self.violations), []
        return taken

    def reset(self) -> None:
        self.violations.clear()
        self.unprotected.clear()

    def assert_clean(self) -> None:
        violations = self.take()
        assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)
        assert self.unprotected == [], f"documents served without a policy: {self.unprotected}"


class WatchedBrowserType:
    """The session's BrowserType: a persistent context it launches is watched too."""

    def __init__(self, browser_type: Any, watch: CspWatch) -> None:
        self._browser_type = browser_type
        self._watch = watch

    def launch_persistent_context(self, *args: Any, **kwargs: Any) -> Any:
        return self._watch.watch(self._browser_type.launch_persistent_context(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser_type, name)


class WatchedBrowser:
    """The session's Browser, every new context of which is watched by `watch`."""

    def __init__(self, browser: Any, watch: CspWatch) -> None:
        self._browser = browser
        self._watch = watch
        self.browser_type = WatchedBrowserType(browser.browser_type, watch)

    def new_context(self, **kwargs: Any) -> Any:
        return self._watch.watch(self._browser.new_context(**kwargs))

    def new_page(self, **kwargs: Any) -> Any:
        raise NotImplementedError("open a page in browser.new_context(), so that it is watched")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


def provoked_only(log: PageLog, code: int) -> None:
    """The only errors logged are the failed loads of responses a test provoked with `code`."""
    assert all(f"status of {code}" in e for e in log.errors()), log.errors()


def wait_ready(page: Any, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(READY, timeout=timeout_ms)
    err = page.evaluate("document.documentElement.dataset.progressError || null")
    assert err is None, f"the progress client failed to start: {err}"


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    wait_ready(page)


def new_page(context: Any, url: str, log: PageLog | None = None) -> Any:
    """A new page of `context` at `url`, its client ready (recorded in `log` if given)."""
    page = context.new_page()
    if log is not None:
        log.attach(page)
    open_page(page, url)
    return page


def save_screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
