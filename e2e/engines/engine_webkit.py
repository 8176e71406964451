"""WebKitGTK (Safari's engine; Debian's webkit2gtk-driver) through Selenium's WebKitGTK driver:
MiniBrowser in automation mode under an Xvfb display of its own (no headless mode). Each tab
is a window of the one session (a background tab of MiniBrowser may be throttled).

WebKitWebDriver speaks classic WebDriver only (no BiDi, so no preload scripts, no console and no
network emulation): the error hook is installed as soon as each document has loaded (errors
thrown before the load event are seen only as a client that fails to start), `console.error`
is read through that hook, and going offline is the server stopping (see scenario.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

from e2e.engines.driver import Engine, error_hook

MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
XVFB = "/usr/bin/Xvfb"


def webkit_missing() -> str | None:
    for path, package in ((MINIBROWSER, "webkit2gtk-driver"), (WEBKIT_DRIVER, "webkit2gtk-driver"),
                          (XVFB, "xvfb")):  # fmt: skip
        if not Path(path).exists():
            return f"{path} is missing (Debian: apt-get install -y {package})"
    return None


class WebKitEngine(Engine):
    name = "WebKitGTK"
    console_readable = False
    can_go_offline = False

    def __init__(self) -> None:
        super().__init__()
        self.xvfb: subprocess.Popen[bytes] | None = None
        self.service: Any = None
        self.driver: Any = None
        self.current: str | None = None

    def _start_xvfb(self) -> str:
        read_fd, write_fd = os.pipe()
        self.xvfb = subprocess.Popen(
            [XVFB, "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        os.close(write_fd)
        with os.fdopen(read_fd) as displayfd:
            display = displayfd.readline().strip()  # written once the server accepts clients
        if not display:
            raise RuntimeError("Xvfb did not start")
        return f":{display}"

    def start(self) -> None:
        missing = webkit_missing()
        if missing:
            raise RuntimeError(missing)
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        display = self._start_xvfb()
        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        # explicit paths: Selenium Manager never runs, nothing is downloaded
        self.service = Service(
            executable_path=WEBKIT_DRIVER,
            env={**os.environ, "DISPLAY": display, "SE_OFFLINE": "true"},
            popen_kw={"start_new_session": True},
        )
        with warnings.catch_warnings():
            # Selenium's own WebKitGTK driver passes the address the way it has deprecated
            warnings.filterwarnings(
                "ignore", "setting remote_server_addr", DeprecationWarning, "selenium"
            )
            self.driver = webdriver.WebKitGTK(options=options, service=self.service)
        self.driver.set_script_timeout(60)
        self.driver.set_page_load_timeout(90)
        self.version = str(self.driver.capabilities.get("browserVersion", ""))
        self.current = self.driver.current_window_handle

    def _switch(self, handle: str) -> None:
        if self.current != handle:
            self.driver.switch_to.window(handle)
            self.current = handle

    def _hook(self) -> None:
        self.driver.execute_script(error_hook(console_readable=False))

    def _open(self, url: str) -> Any:
        if self.tabs:  # the session's first window serves the first tab
            self.driver.switch_to.new_window("window")
        self.current = self.driver.current_window_handle
        self.driver.get(url)
        self._hook()
        return self.current

    def _eval(self, handle: Any, expression: str) -> str:
        self._switch(handle)
        script = f"const done = arguments[arguments.length - 1]; ({expression}).then(done)"
        return str(self.driver.execute_async_script(script))

    def _click(self, handle: Any, selector: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        self._switch(handle)
        # as Playwright's and Puppeteer's locators do (the other engines), the element is looked
        # up again when the page replaced it between finding it and clicking it (a re-render)
        deadline = time.monotonic() + 5.0
        while True:
            try:
                self.driver.find_element(By.CSS_SELECTOR, selector).click()
                return
            except StaleElementReferenceException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _reload(self, handle: Any) -> None:
        self._switch(handle)
        self.driver.refresh()
        self._hook()

    def _close(self, handle: Any) -> None:
        self._switch(handle)
        self.driver.close()
        self.current = None
        rest = [h for h in self.driver.window_handles if h != handle]
        if rest:
            self._switch(rest[0])

    def set_offline(self, offline: bool) -> None:
        raise NotImplementedError("WebKitWebDriver cannot emulate the network")

    def quit(self) -> None:
        try:
            if self.driver is not None:
                self.driver.quit()
                self.driver = None
        finally:
            self.kill()

    def kill(self) -> None:
        process = getattr(self.service, "process", None)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # WebKitWebDriver and its MiniBrowser
            process.wait()
        if self.xvfb is not None:
            if self.xvfb.poll() is None:
                self.xvfb.terminate()
                try:
                    self.xvfb.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.xvfb.kill()
                    self.xvfb.wait()
            self.xvfb = None
