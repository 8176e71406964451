"""The dist as build.py makes it (built once for the session; quick when nothing changed), and
the names pyclient's source imports (checked against the standard library kept and the parts
dropped from the wheels)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# pyclient's modules for CPython only: the page never imports them (tests/test_pyodide_stdlib.py
# checks that it does not).
CPYTHON_ONLY = {"pyclient.adapters.cpython"}


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


def imported_names(path: Path, module: str) -> list[str]:
    """Every absolute module name `path` imports (top level, functions, try blocks), with each
    `from a import b` also as `a.b` (b may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base_name = ".".join([*base, node.module] if node.module else base)
            else:
                base_name = node.module or ""
            names.append(base_name)
            names.extend(f"{base_name}.{a.name}" for a in node.names)
    return names


def pyclient_imports() -> list[tuple[str, str]]:
    """(module, a name it imports) for every module of pyclient the page may import."""
    out = []
    for path in sorted((ROOT / "pyclient").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if module not in CPYTHON_ONLY:
            out.extend((module, name) for name in imported_names(path, module))
    return out
