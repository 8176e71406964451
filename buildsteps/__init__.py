"""The steps of `build.py`, one module each, and the one error and log line they share.

layout          where the build reads and writes, and the pinned Pyodide it targets
files           content hashes, writes only on change, and mirroring a tree into the dist
pyclient_wheel  1. the pure pyclient wheel, written reproducibly
runtime         2. the pinned Pyodide runtime through `npm ci` in web/
wheels          3. the pinned browser wheels, sha256-checked
bytecode        4. bytecode compiled by the shipped Pyodide itself
lockfile        5. pyodide-lock.json trimmed to what is shipped
storage_keys    the JS module of storage key names, generated from pyclient's Python home
page            6. dist/web (the page, the runtime, the wheels) and dist/pyodide-test
"""

from __future__ import annotations

__all__ = ["BuildError", "log"]


class BuildError(Exception):
    """A problem the user can fix; printed as one sentence, exit status 1."""


def log(step: str, msg: str) -> None:
    print(f"[build] {step}: {msg}", flush=True)
