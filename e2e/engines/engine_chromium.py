"""Chromium (Debian's) through Playwright, as the rest of e2e/ drives it (e2e/chromium.py): one
browser context is the profile, its pages the tabs."""

from __future__ import annotations

from typing import Any

from e2e.engines.driver import Engine, error_hook


class ChromiumEngine(Engine):
    name = "Chromium"

    def __init__(self, browser: Any) -> None:
        super().__init__()
        self.browser = browser
        self.context: Any = None

    def start(self) -> None:
        self.version = str(self.browser.version)
        self.context = self.browser.new_context(viewport={"width": 1000, "height": 700})
        self.context.set_default_timeout(30_000)
        self.context.add_init_script(error_hook(console_readable=True))

    def _open(self, url: str) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on(
            "console",
            lambda m: self.errors.append(f"console.error: {m.text}") if m.type == "error" else None,
        )
        page.goto(url)
        return page

    def _eval(self, handle: Any, expression: str) -> str:
        return str(handle.evaluate(expression))

    def _click(self, handle: Any, selector: str) -> None:
        handle.click(selector)

    def _reload(self, handle: Any) -> None:
        handle.reload()

    def _close(self, handle: Any) -> None:
        handle.close()

    def set_offline(self, offline: bool) -> None:
        self.context.set_offline(offline)

    def quit(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None

    def kill(self) -> None:
        # The browser is the session's shared one (e2e/conftest.py): close this profile only.
        try:
            self.quit()
        except Exception:  # after a timeout the connection may be gone
            self.context = None
