"""The node runners of the page's modules (tests/web/*_run.mjs): each prints one JSON object of
what it found."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest


def run_node(runner: Path, *args: str | Path, timeout: int = 120) -> dict[str, Any]:
    """What ``runner`` (a node script beside the tests) prints, as JSON; it must exit 0."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: scripts/system-packages installs it")
    proc = subprocess.run(
        [node, str(runner), *map(str, args)],
        capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
