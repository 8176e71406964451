"""The core tests and the golden vectors, run again inside Pyodide 314 (node runtime).

scripts/pyodide-tests.mjs boots the very runtime and wheels that build.py ships (the runtime
directory dist/web/build.json names, plus pytest and hypothesis from dist/pyodide-test), runs
tests/pyclient with pytest inside Pyodide, and reduces every vector there. Here, in CPython, we
check that all passed and that each vector's canonical snapshot is byte-identical to CPython's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyclient import canonical_json, parse_events, reduce_events

ROOT = Path(__file__).resolve().parent.parent
VECTORS = sorted((ROOT / "tests" / "vectors").glob("*.json"))

pytestmark = pytest.mark.pyodide


@pytest.fixture(scope="module")
def pyodide_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is missing: install Node.js 18 or newer (Debian: apt-get install -y nodejs npm)."
        )
    build = subprocess.run(
        [sys.executable, str(ROOT / "build.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, f"build.py failed:\n{build.stdout}\n{build.stderr}"
    out = tmp_path_factory.mktemp("pyodide") / "result.json"
    proc = subprocess.run(
        [node, str(ROOT / "scripts" / "pyodide-tests.mjs"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    log = f"--- stdout ---\n{proc.stdout[-20000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
    assert out.exists(), f"the Pyodide runner produced no result (exit {proc.returncode}):\n{log}"
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["log"] = log
    result["exit"] = proc.returncode
    return result


def test_core_tests_pass_inside_pyodide(pyodide_run: dict[str, Any]) -> None:
    assert pyodide_run["python"].startswith("3.14.")
    assert pyodide_run["pytest_exit"] == 0, (
        f"tests/pyclient failed inside Pyodide:\n{pyodide_run['log']}"
    )
    assert pyodide_run["exit"] == 0, pyodide_run["log"]
    assert " passed" in pyodide_run["log"]


def test_every_vector_was_reduced_inside_pyodide(pyodide_run: dict[str, Any]) -> None:
    assert VECTORS, "no golden vectors under tests/vectors"
    assert sorted(pyodide_run["vectors"]) == [p.name for p in VECTORS]


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_canonical_snapshot_is_byte_identical_to_cpython(
    pyodide_run: dict[str, Any], path: Path
) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    # the same input text as the runner builds inside Pyodide
    cpython = canonical_json(reduce_events(parse_events(json.dumps(vector["events"]))))
    in_pyodide = pyodide_run["vectors"][path.name]
    assert in_pyodide.encode() == cpython.encode()
    if isinstance(vector.get("snapshot"), dict):
        assert in_pyodide == canonical_json(vector["snapshot"])
