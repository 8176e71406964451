"""Step 5: pyodide-lock.json holding exactly the shipped packages (pyodide_lock's tooling, with
the platform wheels patched in by hand)."""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from buildsteps import BuildError, log
from buildsteps.files import write_if_changed
from buildsteps.layout import CACHE, PYODIDE_ABI, PYODIDE_PLATFORM, SHIPPED_ROOTS, TEST_ROOTS

_MODULE_FILE = re.compile(r"([A-Za-z_]\w*)(?:\.py|\.pyc|\.[\w-]*\.so|\.so)")


def _is_pure(path: Path) -> bool:
    return path.name.endswith("-none-any.whl")


def top_level_imports(wheel: Path) -> list[str]:
    """The top-level names a wheel makes importable: a module file at its root (source,
    bytecode or extension) or a folder holding one. pyodide_lock finds only sources, and the
    shipped wheels hold bytecode without them (buildsteps/bytecode.py)."""
    names: set[str] = set()
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            parts = PurePosixPath(member).parts
            if not parts or "__pycache__" in parts or parts[0].endswith((".dist-info", ".data")):
                continue
            module = _MODULE_FILE.fullmatch(parts[-1])
            if module is None:
                continue
            top = parts[0] if len(parts) > 1 else module.group(1)
            if top.isidentifier():
                names.add(top)
    return sorted(names)


def make_lockfile(base_lock: Path, wheels: list[Path], roots: Iterable[str]) -> dict[str, object]:
    """Return pyodide-lock.json data holding exactly `roots` and their dependencies.

    Pure wheels go through pyodide_lock.add_wheels_to_spec. Platform wheels
    (pyemscripten_2026_0) are rejected by its platform check (it compares against
    emscripten_5_0_3), so their entries are patched: file name, version, sha256.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
    from pyodide_lock import PackageSpec, PyodideLockSpec
    from pyodide_lock.utils import (
        _get_marker_environment,
        _wheel_depends,
        _wheel_metadata,
        add_wheels_to_spec,
        update_package_sha256,
    )

    spec = PyodideLockSpec.from_json(base_lock)
    pure = [w for w in wheels if _is_pure(w)]
    platform = [w for w in wheels if not _is_pure(w)]
    for w in platform:
        if not w.name.endswith(f"-{PYODIDE_ABI}-{PYODIDE_ABI}-{PYODIDE_PLATFORM}.whl"):
            raise BuildError(f"{w.name} is not built for {PYODIDE_PLATFORM} ({PYODIDE_ABI}).")
    # Platform wheels first, so that pure wheels depending on them resolve.
    markers = _get_marker_environment(**spec.info.to_dict())
    for w in platform:
        name, version, _, _ = parse_wheel_filename(w.name)
        key = canonicalize_name(name)
        meta = _wheel_metadata(w)
        depends: list[str] = []
        for req in _wheel_depends(meta):
            assert isinstance(req, Requirement)
            if req.marker is not None and not req.marker.evaluate(markers):
                continue
            depends.append(canonicalize_name(req.name))
        entry = spec.packages.get(key)
        if entry is None:
            entry = PackageSpec(
                name=key,
                version=str(version),
                file_name=w.name,
                sha256="",
                package_type="package",
                install_dir="site",
                imports=top_level_imports(w),
                depends=depends,
            )
        entry.file_name = w.name
        entry.version = str(version)
        entry.depends = depends
        update_package_sha256(entry, w)
        spec.packages[key] = entry
    # pyodide_lock warns for each wheel without sources at its top: imports are set below.
    quiet = logging.getLogger(add_wheels_to_spec.__module__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        spec = add_wheels_to_spec(spec, pure, base_path=Path(os.path.commonpath(pure)))
    finally:
        quiet.setLevel(level)
    for w in pure:  # the dist keeps every wheel beside the lockfile: names only
        entry = spec.packages[canonicalize_name(parse_wheel_filename(w.name)[0])]
        entry.file_name = w.name
        entry.imports = top_level_imports(w)
    # Trim to the closure of the roots.
    keep: set[str] = set()
    todo: list[str] = [canonicalize_name(r) for r in roots]
    while todo:
        k = todo.pop()
        if k in keep:
            continue
        if k not in spec.packages:
            raise BuildError(f"lockfile: dependency {k} is not among the pinned wheels.")
        keep.add(k)
        todo.extend(canonicalize_name(d) for d in spec.packages[k].depends)
    by_name = {w.name for w in wheels}
    spec.packages = {k: v for k, v in sorted(spec.packages.items()) if k in keep}
    for k, v in spec.packages.items():
        if v.file_name not in by_name:
            raise BuildError(f"lockfile: {k} points to {v.file_name}, which is not shipped.")
    return spec.to_dict()


def write_lockfiles(base_lock: Path, shipped: list[Path], test_only: list[Path] | None) -> None:
    """.cache/build/pyodide-lock.json for the page and, unless `test_only` is None,
    pyodide-test-lock.json for the test runtime; each rewritten only when it changed."""
    step = "5/6 pyodide-lock.json"
    lock = make_lockfile(base_lock, shipped, SHIPPED_ROOTS)
    lock_bytes = (json.dumps(lock, indent=1, sort_keys=True) + "\n").encode()
    CACHE.mkdir(parents=True, exist_ok=True)
    changed = write_if_changed(CACHE / "pyodide-lock.json", lock_bytes)
    log(step, f"{'written' if changed else 'unchanged'}: {', '.join(lock['packages'])}")  # type: ignore[arg-type]
    if test_only is not None:
        test_lock = make_lockfile(base_lock, [*shipped, *test_only], TEST_ROOTS)
        test_bytes = (json.dumps(test_lock, indent=1, sort_keys=True) + "\n").encode()
        write_if_changed(CACHE / "pyodide-test-lock.json", test_bytes)
