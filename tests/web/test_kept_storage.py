"""web/kept-storage.js, the JS half of pyclient's localStorage port: a read hands Python null
for a missing value, true for one unchanged since its last read, a short value as its string, a
long one (BYTES_FROM characters or more) as its UTF-8 bytes, and a long one with a lone
surrogate (no UTF-8 of it) as its string; each standing for the stored value exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.node_runner import run_node

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("kept_storage_run.mjs")


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_node(RUNNER, ROOT / "web" / "kept-storage.js")


def test_the_threshold_is_a_kilobyte(run: dict[str, Any]) -> None:
    assert run["bytesFrom"] == 1024


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("short", "string"),
        ("long", "bytes"),
        ("lone", "string"),
        ("longChanged", "bytes"),  # written by another tab: read anew
    ],
)
def test_a_value_reaches_python_whole_as_string_or_utf8(
    run: dict[str, Any], key: str, kind: str
) -> None:
    assert run[key] == {"kind": kind, "same": True}


def test_a_missing_value_is_null_and_an_unchanged_one_true(run: dict[str, Any]) -> None:
    assert run["missing"] == {"kind": "null"}
    assert run["longUnchanged"] == {"kind": "true"}
