"""buildsteps/stdlib.py: which members of the standard library zip a keep list keeps, and the
keep list against pyclient's source: a module of the standard library that pyclient imports
anywhere (inside functions too, on paths no test reaches) and the list lacks is named."""

from __future__ import annotations

import zipfile

import pytest

from buildsteps import BuildError
from buildsteps.stdlib import kept_members, modules, read_keep_list

from .conftest import ROOT, Build, pyclient_imports

NPM_STDLIB = ROOT / "web" / "node_modules" / "pyodide" / "python_stdlib.zip"


def test_the_keep_list_holds_every_standard_module_pyclient_imports(build: Build) -> None:
    # the build ran npm ci: the npm package's standard library is the full one
    with zipfile.ZipFile(NPM_STDLIB) as z:
        members = z.namelist()
    full = modules(members)
    kept = modules(kept_members(members, read_keep_list()))
    lacking: dict[str, list[str]] = {}
    for module, name in pyclient_imports():
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
