"""Reducer benchmark: JSON text → snapshot for 1k, 10k and 100k events, and one incremental
application, in CPython and in Pyodide (node runtime, the shipped wheels), side by side.

    .venv/bin/python bench/reducer.py [--sizes 1000,10000,100000]

The Pyodide column runs the pyclient wheel in build.py's dist/ (run build.py again after
changing pyclient). The last row is the largest log without its progress.reset events: with
them, the reducer folds only the events after the last one. Prints a table; never fails on
time.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from reducer_workload import measure  # noqa: E402

TARGETS = {"cpython": {"100000": 300.0}, "pyodide": {"10000": 150.0, "100000": 600.0}}
INCREMENTAL_TARGET_MS = 0.2


def run_pyodide(sizes: list[int]) -> dict[str, Any] | None:
    node = shutil.which("node")
    if node is None:
        print("node not found: Pyodide column skipped", file=sys.stderr)
        return None
    proc = subprocess.run(
        [node, str(ROOT / "bench" / "reducer_pyodide.mjs"), *map(str, sizes)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr.strip(), file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    cpython: dict[str, Any] = measure(sizes)
    pyodide = run_pyodide(sizes)
    print(
        f"\nReducer: JSON text -> snapshot (median ms); CPython {platform.python_version()}, "
        f"Pyodide {pyodide['python'] if pyodide else 'n/a'}"
    )
    print(
        f"{'events':>8} {'KiB':>7} {'CPython':>10} {'target':>8} {'Pyodide':>10} {'target':>8}"
        f" {'ratio':>6}"
    )

    def row(events: int, cp: dict[str, Any], py: dict[str, Any] | None, key: str | None) -> str:
        cp_t = TARGETS["cpython"].get(key or "")
        py_t = TARGETS["pyodide"].get(key or "")
        py_ms = f"{py['ms']:.1f}" if py else "n/a"
        ratio = f"{py['ms'] / cp['ms']:.1f}x" if py else ""
        return (
            f"{events:>8} {cp['bytes'] // 1024:>7} {cp['ms']:>10.1f} "
            f"{'≤' + str(int(cp_t)) if cp_t else '':>8} {py_ms:>10} "
            f"{'≤' + str(int(py_t)) if py_t else '':>8} {ratio:>6}"
        )

    for size in sizes:
        key = str(size)
        print(row(size, cpython["full"][key], pyodide["full"][key] if pyodide else None, key))
    if "no_reset" in cpython:
        no_reset = cpython["no_reset"]
        py_no_reset = pyodide.get("no_reset") if pyodide else None
        print(row(no_reset["events"], no_reset, py_no_reset, None) + "  (no progress.reset)")
    print(
        f"\nOne incremental application on a 10k-event snapshot (median / p95 ms): "
        f"CPython {cpython['incremental_ms']:.3f} / {cpython['incremental_p95_ms']:.3f}; Pyodide "
        + (
            f"{pyodide['incremental_ms']:.3f} / {pyodide['incremental_p95_ms']:.3f}"
            if pyodide
            else "n/a"
        )
        + f"  (target ≤ {INCREMENTAL_TARGET_MS} in Pyodide)"
    )


if __name__ == "__main__":
    main()
