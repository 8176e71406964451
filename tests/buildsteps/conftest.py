"""The dist as build.py makes it (built once for the session; quick when nothing changed)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Build:
    web: Path
    manifest: dict[str, Any]  # build.json
    log: str  # build.py's output


def run_build() -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--no-test-runtime"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"build.py failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


@pytest.fixture(scope="session")
def build() -> Build:
    log = run_build()
    web = ROOT / "dist" / "web"
    return Build(web, json.loads((web / "build.json").read_text()), log)
