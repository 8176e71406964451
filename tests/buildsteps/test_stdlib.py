"""buildsteps/stdlib.py: which members of the standard library zip a keep list keeps, and the
keep list against pyclient's source: a module of the standard library that pyclient imports
anywhere (inside functions too, on paths no test reaches) and the list lacks is named."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from buildsteps import BuildError
from buildsteps.stdlib import kept_members, modules, read_keep_list

from .conftest import ROOT, Build

NPM_STDLIB = ROOT / "web" / "node_modules" / "pyodide" / "python_stdlib.zip"
# pyclient's modules for CPython only: the page never imports them (tests/test_pyodide_stdlib.py
# checks that it does not).
CPYTHON_ONLY = {"pyclient.adapters.cpython"}


def _stdlib_imports(path: Path, module: str) -> list[str]:
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


def test_the_keep_list_holds_every_standard_module_pyclient_imports(build: Build) -> None:
    # the build ran npm ci: the npm package's standard library is the full one
    with zipfile.ZipFile(NPM_STDLIB) as z:
        members = z.namelist()
    full = modules(members)
    kept = modules(kept_members(members, read_keep_list()))
    lacking: dict[str, list[str]] = {}
    for path in sorted((ROOT / "pyclient").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if module in CPYTHON_ONLY:
            continue
        for name in _stdlib_imports(path, module):
            if name in full and name not in kept:
                lacking.setdefault(name, []).append(module)
    assert not lacking, "buildsteps/stdlib-keep.txt lacks: " + "; ".join(
        f"{name} (imported by {', '.join(sorted(set(by)))})" for name, by in sorted(lacking.items())
    )


MEMBERS = [
    "a/", "a/__init__.py", "a/__init__.pyc", "a/x.py", "a/x.pyc", "a/data.txt",
    "a/sub/", "a/sub/__init__.py", "a/sub/y.py",
    "b/__init__.py", "b/big.py", "b/small.py",
    "c.py", "c.pyc", "d.py", "odd-name.py", "site-packages/README.txt",
]  # fmt: skip


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        (["a"], [m for m in MEMBERS if m.startswith("a/")]),
        (["c"], ["c.py", "c.pyc"]),
        (["b.small"], ["b/__init__.py", "b/small.py"]),
        (["b.__init__"], ["b/__init__.py"]),
        (["a.sub.y"], ["a/__init__.py", "a/__init__.pyc", "a/sub/__init__.py", "a/sub/y.py"]),
        (["odd-name", "d"], ["d.py", "odd-name.py"]),
    ],
)
def test_kept_members(keep: list[str], kept: list[str]) -> None:
    assert kept_members(MEMBERS, keep) == kept


def test_a_keep_entry_naming_nothing_stops_the_build() -> None:
    with pytest.raises(BuildError, match=r"lacks: a\.nope, zz"):
        kept_members(MEMBERS, ["a", "a.nope", "zz"])
