"""What every browser test does with a page: record its requests, console and errors, open it
and wait for the progress client, save screenshots, and fill or free localStorage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from e2e.chromium import READY

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

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
