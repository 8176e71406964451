"""The core tests and the golden vectors, run again inside Pyodide 314 (node runtime).

scripts/pyodide-tests.mjs boots the very runtime and wheels that build.py ships (the runtime
directory dist/web/build.json names, plus pytest and hypothesis from dist/pyodide-test), runs
tests/pyclient with pytest inside Pyodide, and reduces every vector there. Here, in CPython, we
check that all passed and that each vector's canonical snapshot is byte-identical to CPython's.
Each twice: booted normally, and restored from the dist's memory snapshot as the page boots
(web/memory-snapshot.js), whose frozen state is checked to be the learner's own.
"""

from __future__ import annotations

import json
import os
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


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is missing: install Node.js 18 or newer (Debian: apt-get install -y nodejs npm)."
        )
    return node


@pytest.fixture(scope="module")
def built() -> None:
    build = subprocess.run(
        [sys.executable, str(ROOT / "build.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, f"build.py failed:\n{build.stdout}\n{build.stderr}"


def _run(out: Path, *flags: str, tz: str = "UTC") -> dict[str, Any]:
    proc = subprocess.run(
        [_node(), str(ROOT / "scripts" / "pyodide-tests.mjs"), *flags, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "TZ": tz},
    )
    log = f"--- stdout ---\n{proc.stdout[-20000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
    assert out.exists(), f"the Pyodide runner produced no result (exit {proc.returncode}):\n{log}"
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["log"] = log
    result["exit"] = proc.returncode
    return result


BOOTS = {"normal": (), "snapshot": ("--memory-snapshot",)}


@pytest.fixture(scope="module", params=sorted(BOOTS))
def pyodide_run(
    request: pytest.FixtureRequest, built: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    result = _run(tmp_path_factory.mktemp("pyodide") / "result.json", *BOOTS[request.param])
    assert result.get("boot") == request.param, result["log"]
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


def test_the_snapshot_boot_restores_the_imported_client(pyodide_run: dict[str, Any]) -> None:
    # pydantic and pyclient are in the restored heap; a normal boot has imported neither yet
    assert pyodide_run["state"]["preimported"] is (pyodide_run["boot"] == "snapshot")


def test_what_the_snapshot_imported_is_out_of_the_collectors_sight(
    pyodide_run: dict[str, Any],
) -> None:
    # made frozen (gc.freeze), so that the restored interpreter's first collections do not
    # scan the modules imported before it; a normal boot freezes nothing before the client
    frozen = pyodide_run["state"]["frozen"]
    if pyodide_run["boot"] == "snapshot":
        assert frozen > 10_000, frozen
    else:
        assert frozen == 0, frozen


def test_a_restored_interpreter_has_this_machines_time_zone_and_fresh_randomness(
    built: None, tmp_path: Path
) -> None:
    # the snapshot is made in UTC by Node; restored elsewhere, it must see that zone and the
    # browser's language as a normal boot does, and nothing of the machine that made it
    zone, flags = "America/New_York", ("--state-only", "--language", "de-DE")
    normal = _run(tmp_path / "normal.json", *flags, tz=zone)
    first, second = (
        _run(tmp_path / f"snapshot-{n}.json", "--memory-snapshot", *flags, tz=zone) for n in (1, 2)
    )
    for run in (normal, first, second):
        assert run["exit"] == 0, run["log"]
    assert first["boot"] == second["boot"] == "snapshot"
    assert normal["state"]["timezone"] == [18000, 14400, 1, ["UTC-0500", "UTC-0400"]]
    assert normal["state"]["zone"] == ["UTC-0500", "UTC-0500"]  # the C library's, at 1970-01-01
    assert normal["state"]["lang"] == "de_DE.UTF-8"
    for key in ("timezone", "zone", "lang", "environ", "executable"):
        assert first["state"][key] == normal["state"][key], key
    # reseeded after each restore: not the state frozen in the heap
    assert first["state"]["random"] != second["state"]["random"]
