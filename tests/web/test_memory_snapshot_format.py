"""web/snapshot-files.js's sparse form of a snapshot, under node on synthetic Pyodide snapshots
(tests/web/memory_snapshot_format_run.mjs): made sparse and restored into a heap of other bytes,
every heap comes back byte for byte (whole zero pages left out, single bytes at a page's first
and last place kept); a file cut short anywhere or padded is refused as corrupt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.node_runner import run_node

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("memory_snapshot_format_run.mjs")


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_node(RUNNER, ROOT / "web" / "snapshot-files.js")


def test_every_heap_comes_back_byte_for_byte(run: dict[str, Any]) -> None:
    assert run["roundTrips"] == 36 and run["mismatches"] == []


def test_zero_pages_are_left_out(run: dict[str, Any]) -> None:
    assert 0.5 < run["ratio"] < 0.75  # 40% of 300 pages zero


def test_a_cut_or_padded_file_is_refused(run: dict[str, Any]) -> None:
    assert run["acceptedCuts"] == [] and run["refusedCuts"] == run["cuts"] > 36 * 50
    assert run["acceptedPads"] == [] and run["refusedPads"] == 36 * 3
