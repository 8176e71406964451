"""The time each engine took, as a line of pytest's summary (test_engines.py records it)."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for key, value in getattr(report, "user_properties", []):
            if key == "engine_time" and report.when == "call":
                lines.append(f"{value} ({report.outcome})")
    if lines:
        terminalreporter.write_sep("-", "time per engine")
        for line in lines:
            terminalreporter.write_line(line)
