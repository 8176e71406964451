"""Step 4: bytecode for the standard library and the shipped wheels, compiled by the shipped
Pyodide itself (scripts/pyodide-precompile.mjs under node), cached by input hash."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from buildsteps import BuildError, log
from buildsteps.files import sha256_file
from buildsteps.layout import CACHE, PYODIDE_VERSION, ROOT


def precompile_python(wheels: list[Path], runtime_dir: Path) -> list[Path]:
    """The same wheels and zips plus CPython 3.14 bytecode, compiled inside Pyodide (node).

    The npm package's python_stdlib.zip holds only sources, so Pyodide compiles every module it
    imports on every page load: precompiled, a bare boot takes about 1 s instead of 2.5 s here,
    and importing pydantic + pyclient half as long. Cached by input hash.
    """
    step = "4/6 bytecode"
    script = ROOT / "scripts" / "pyodide-precompile.mjs"
    salt = hashlib.sha256(script.read_bytes() + PYODIDE_VERSION.encode()).hexdigest()
    out: list[Path] = []
    todo: list[tuple[Path, Path]] = []
    for w in wheels:
        key = hashlib.sha256((salt + sha256_file(w)).encode()).hexdigest()[:16]
        target = CACHE / "pyc" / key / w.name
        out.append(target)
        if not target.exists():
            todo.append((w, target))
    if not todo:
        log(step, f"up to date ({len(wheels)} files)")
        return out
    log(step, f"compiling {len(todo)} files inside Pyodide {PYODIDE_VERSION}")
    with tempfile.TemporaryDirectory() as tmp:
        node = shutil.which("node") or "node"
        cmd = [node, str(script), str(runtime_dir), tmp, *(str(w) for w, _ in todo)]
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
        if proc.returncode != 0:
            raise BuildError(f"precompiling wheels inside Pyodide failed:\n{proc.stdout[-2000:]}")
        for w, target in todo:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(Path(tmp) / w.name), target)
    return out
