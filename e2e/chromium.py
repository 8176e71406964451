"""How this project starts Debian's Chromium for tests and benchmarks (one place for all).

No download: `playwright install` is never needed. The flags keep Chromium off the network
(no background requests, updates, sync or QUIC) and let it run as root without a GPU.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: True once the page's client is ready or has failed to load (DESIGN §8). A function, not an
#: expression: Playwright polls a bare expression with eval, which the page's policy refuses.
READY = (
    "() => document.documentElement.dataset.progressReady === 'true'"
    " || !!document.documentElement.dataset.progressError"
)


def chromium_path() -> str:
    """Chromium's executable: $CHROMIUM, `chromium` on PATH, or Debian's path."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError("Chromium is missing: install it (Debian: apt-get install -y chromium).")
    return path
