"""Firefox ESR (Debian's firefox-esr) over WebDriver BiDi: puppeteer-core in a Node process
(firefox_driver.mjs) that takes one JSON command a line. No geckodriver, no download."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from e2e.engines.driver import Engine, error_hook

HERE = Path(__file__).resolve().parent
FIREFOX = "/usr/bin/firefox-esr"
#: How long one command may take (a page load, a click, an evaluation) before the run fails.
COMMAND_TIMEOUT_S = 90


def firefox_path() -> str:
    path = os.environ.get("FIREFOX") or shutil.which("firefox-esr") or FIREFOX
    if not Path(path).exists():
        raise RuntimeError(
            "Firefox ESR is missing: install it (Debian: apt-get install -y firefox-esr)."
        )
    return path


def node_tools_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is missing (Debian: apt-get install -y nodejs)"
    if not (HERE.parent / "node_modules" / "puppeteer-core").is_dir():
        return (
            "puppeteer-core is missing: cd e2e && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts"
        )
    return None


class FirefoxEngine(Engine):
    name = "Firefox ESR"

    def __init__(self) -> None:
        super().__init__()
        self.proc: subprocess.Popen[str] | None = None
        self.replies: queue.Queue[str | None] = queue.Queue()
        # the driver's and Firefox's own output, shown when a command fails
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by kill()
        self.next_id = 0
        self.browser_pid: int | None = None
        self.reader: threading.Thread | None = None

    def start(self) -> None:
        missing = node_tools_missing()
        if missing:
            raise RuntimeError(missing)
        self.proc = subprocess.Popen(
            ["node", str(HERE / "firefox_driver.mjs")],
            cwd=HERE.parent, env={**os.environ, "FIREFOX": firefox_path()},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self.reader.start()
        hello = self._reply()
        self.version = str(hello["version"])
        self.browser_pid = hello.get("pid")

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.replies.put(line)
        self.replies.put(None)

    def _reply(self) -> dict[str, Any]:
        try:
            line = self.replies.get(timeout=COMMAND_TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(
                f"Firefox ESR: no reply within {COMMAND_TIMEOUT_S} s\n{self._stderr()}"
            ) from None
        if line is None:
            raise AssertionError(f"Firefox ESR: the driver process ended\n{self._stderr()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _stderr(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-4000:]

    def _call(self, op: str, **args: Any) -> Any:
        assert self.proc is not None and self.proc.stdin is not None
        self.next_id += 1
        self.proc.stdin.write(json.dumps({"id": self.next_id, "op": op, **args}) + "\n")
        self.proc.stdin.flush()
        reply = self._reply()
        assert reply.get("id") == self.next_id, reply
        if not reply["ok"]:
            raise AssertionError(f"Firefox ESR: {op} failed: {reply['error']}")
        return reply["value"]

    def _open(self, url: str) -> Any:
        return self._call("open", url=url, initScript=error_hook(console_readable=True))

    def _eval(self, handle: Any, expression: str) -> str:
        return str(self._call("eval", tab=handle, expression=expression))

    def _click(self, handle: Any, selector: str) -> None:
        self._call("click", tab=handle, selector=selector)

    def _reload(self, handle: Any) -> None:
        self._call("reload", tab=handle)

    def _close(self, handle: Any) -> None:
        self._call("close", tab=handle)

    def set_offline(self, offline: bool) -> None:
        self._call("offline", offline=offline)

    def native_errors(self) -> list[str]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        return list(self._call("errors"))

    def quit(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self._call("quit")
            self.proc.wait(timeout=20)
            self.browser_pid = None  # closed by puppeteer
        finally:
            self.kill()

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # puppeteer closes the browser on SIGTERM
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc is not None:
            if self.reader is not None:
                self.reader.join(timeout=10)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        if self.browser_pid is not None:  # launched detached: its own process group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.browser_pid, signal.SIGKILL)
            self.browser_pid = None
        self.stderr.close()
