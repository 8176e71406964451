"""Child processes of the tests (servers, example hosts): stopped the one way."""

from __future__ import annotations

import subprocess
from typing import Any


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Ask ``process`` to end (SIGTERM), wait up to ``timeout`` seconds, then kill it."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
