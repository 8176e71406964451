"""The trimmed standard library and the trimmed, sourceless wheels hold everything the page's
client imports.

build.py ships python_stdlib.zip cut down to buildsteps/stdlib-keep.txt (buildsteps/stdlib.py),
the wheels without the parts buildsteps/wheel-drop.txt names (buildsteps/wheel_trim.py), and
both as bytecode without sources, but pyclient's (buildsteps/bytecode.py). Here
tests/pyodide_stdlib_check.mjs boots exactly the shipped runtime, standard library and wheels in
Pyodide under node, imports every module of pyclient (pyclient.bridge included), reduces the
golden vectors, validates and serialises the models and drives the bridge through records, a
refused and a good sync, sign-in and sign-out; every module it could not import is named, also
one whose ImportError the importer caught, and one the build dropped from a wheel.
tests/buildsteps/test_stdlib.py and test_wheel_trim.py check pyclient's source against the keep
and drop lists, for the lines no run reaches.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from buildsteps.stdlib import kept_members, modules, read_keep_list
from buildsteps.wheel_trim import dropped_modules, read_drop_list

ROOT = Path(__file__).resolve().parent.parent
DIST_WEB = ROOT / "dist" / "web"
NPM_STDLIB = ROOT / "web" / "node_modules" / "pyodide" / "python_stdlib.zip"
VECTORS = sorted((ROOT / "tests" / "vectors").glob("*.json"))
DROPPED = dropped_modules(read_drop_list())
# Imported once the page's work is recorded: how an import of a dropped part shows.
PROBE = "pydantic.v1"


def _zip_modules(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as z:
        return modules(z.namelist())


def shipped_runtime() -> tuple[Path, Path]:
    """(the runtime directory, the lockfile) of dist/web, as build.json names them."""
    data = json.loads((DIST_WEB / "build.json").read_text(encoding="utf-8"))
    return DIST_WEB / data["runtime"], DIST_WEB / data["lockfile"]


@pytest.fixture(scope="module")
def built() -> tuple[Path, Path]:
    build = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--no-test-runtime"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, f"build.py failed:\n{build.stdout}\n{build.stderr}"
    runtime, lockfile = shipped_runtime()
    for p in (runtime / "pyodide.mjs", runtime / "python_stdlib.zip", lockfile):
        assert p.is_file(), f"{p.relative_to(ROOT)} is missing after build.py"
    return runtime, lockfile


@pytest.fixture(scope="module")
def page_run(built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is missing: install Node.js 18 or newer (Debian: apt-get install -y nodejs npm)."
        )
    runtime, lockfile = built
    out = tmp_path_factory.mktemp("stdlib") / "result.json"
    cmd = [node, str(ROOT / "tests" / "pyodide_stdlib_check.mjs")]
    cmd += ["--runtime", str(runtime), "--lock", str(lockfile), "--out", str(out)]
    cmd += ["--probe", PROBE]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    log = f"--- stdout ---\n{proc.stdout[-5000:]}\n--- stderr ---\n{proc.stderr[-5000:]}"
    assert proc.returncode == 0 and out.exists(), f"the check did not run:\n{log}"
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["log"] = log
    return result


def _named(result: dict[str, Any], modules: set[str] | list[str]) -> str:
    by = result.get("imported_by", {})
    return ", ".join(f"{m} (imported by {by.get(m, '?')})" for m in sorted(modules))


@pytest.mark.pyodide
def test_the_page_work_imports_every_module_it_needs(page_run: dict[str, Any]) -> None:
    failures = page_run["failures"]
    missing = sorted({f["module"] for f in failures if f["module"]})
    assert not failures, (
        f"modules missing from the shipped standard library: {', '.join(missing) or 'none'}\n"
        + "\n".join(f"{f['step']}: {f['error']}" for f in failures)
    )


@pytest.mark.pyodide
def test_no_module_the_work_looked_for_was_trimmed_away(
    page_run: dict[str, Any], built: tuple[Path, Path]
) -> None:
    """Also the imports whose ImportError the importer caught: a module that exists in
    Pyodide's full standard library but not in the shipped one was wanted and is gone."""
    trimmed_away = _zip_modules(NPM_STDLIB) - _zip_modules(built[0] / "python_stdlib.zip")
    assert trimmed_away, "the shipped standard library is not trimmed"
    wanted = set(page_run["not_found"]) & trimmed_away
    assert not wanted, f"looked for but trimmed away: {_named(page_run, wanted)}"


def _dropped(names: list[str]) -> set[str]:
    """The names that are a module the build dropped from a wheel, or inside one."""
    return {n for n in names if any(n == d or n.startswith(d + ".") for d in DROPPED)}


@pytest.mark.pyodide
def test_no_part_dropped_from_the_wheels_was_looked_for(page_run: dict[str, Any]) -> None:
    """Also the imports whose ImportError the importer caught."""
    assert PROBE in DROPPED
    wanted = _dropped(page_run["not_found"]) | _dropped(page_run["stages"]["bridge driven"])
    assert not wanted, (
        f"dropped from the wheels (buildsteps/wheel-drop.txt) but looked for: "
        f"{_named(page_run, wanted)}"
    )


@pytest.mark.pyodide
def test_an_import_of_a_dropped_part_is_reported(page_run: dict[str, Any]) -> None:
    probe = page_run["probe"]
    assert probe["module"] == PROBE
    assert probe["error"] == f"ModuleNotFoundError: No module named '{PROBE}'"
    assert _dropped(probe["not_found"]) == {PROBE}


@pytest.mark.pyodide
def test_the_libraries_run_from_bytecode_and_pyclient_from_its_sources(
    page_run: dict[str, Any],
) -> None:
    """The standard library (zipimport) and the third-party wheels (site-packages) import
    their .pyc without a source; pyclient imports its .py, its bytecode cached beside it."""
    pyclient, sourceless, with_source = [], [], []
    for name, origin in page_run["origins"].items():
        if name == "pyclient" or name.startswith("pyclient."):
            pyclient.append(name)
            assert origin.endswith(".py"), (name, origin)
            assert page_run["cached"].get(name, "").endswith(".cpython-314.pyc"), name
        elif origin and origin.startswith(("/lib/python314.zip/", "/lib/python3.14/site-pack")):
            (sourceless if origin.endswith((".pyc", ".so")) else with_source).append(origin)
    assert len(pyclient) > 20 and len(sourceless) > 150
    # sitecustomize is the check's own recorder, written as a source
    assert with_source == ["/lib/python3.14/site-packages/sitecustomize.py"]


@pytest.mark.pyodide
def test_a_pyclient_traceback_shows_pyclient_source_lines(page_run: dict[str, Any]) -> None:
    """Each pyclient frame of the traceback a bridge error carried into JS is followed by the
    line of pyclient's source it names; the libraries' frames have none to show."""
    lines = (page_run["bridge_error"] or "").splitlines()
    frame = re.compile(r'  File "([^"]+)", line (\d+), in ')
    shown = 0
    for i, line in enumerate(lines):
        m = frame.match(line)
        if m is None or "/site-packages/pyclient/" not in m[1]:
            continue
        source = ROOT / "pyclient" / m[1].split("/site-packages/pyclient/", 1)[1]
        expected = source.read_text(encoding="utf-8").splitlines()[int(m[2]) - 1].strip()
        assert lines[i + 1].strip() == expected, (line, lines[i + 1])
        shown += 1
    assert shown >= 2, page_run["bridge_error"]


@pytest.mark.pyodide
def test_the_work_reached_the_client(page_run: dict[str, Any]) -> None:
    modules = set(page_run["stages"]["bridge driven"])
    assert {"pyclient.bridge", "pyclient.adapters.pyodide", "pyclient.worker"} <= modules
    assert "pyclient.adapters.cpython" not in modules
    assert page_run["vectors"] == len(VECTORS) > 0
    # A Python error reached JS with its traceback formatted, source lines included
    # (traceback, linecache, tokenize).
    error = page_run["bridge_error"] or ""
    assert error.startswith("Traceback (most recent call last)"), error
    assert 'pyclient/bridge.py", line' in error and "self.engine.record_progress(" in error
    assert "InvalidEventsError: invalid event: 2 validation errors" in error, error


@pytest.mark.pyodide
def test_the_page_ships_the_trimmed_library_and_no_micropip(built: tuple[Path, Path]) -> None:
    runtime, lockfile = built
    with zipfile.ZipFile(runtime / "python_stdlib.zip") as z:
        members = z.namelist()
    assert kept_members(members, read_keep_list()) == members
    assert {"unittest", "email.message", "http"}.isdisjoint(modules(members))
    packages = json.loads(lockfile.read_text(encoding="utf-8"))["packages"]
    assert "micropip" not in packages and "pydantic" in packages
    files = [p.name for p in DIST_WEB.rglob("*") if p.is_file()]
    assert not [f for f in files if f.startswith("micropip")]
