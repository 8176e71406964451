"""Step 4: bytecode for the standard library and the shipped wheels, compiled by the shipped
Pyodide itself (scripts/pyodide-precompile.mjs under node) and shipped without the sources but
for pyclient's, and the standard library cut down to what the page imports (buildsteps/stdlib.py);
each cached by input hash."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from buildsteps import BuildError, log
from buildsteps.files import sha256_file
from buildsteps.layout import CACHE, PYODIDE_VERSION, ROOT
from buildsteps.stdlib import KEEP_LIST, read_keep_list, trim_stdlib

STEP = "4/6 bytecode"
STDLIB = "python_stdlib.zip"


def precompile_python(
    wheels: list[Path], runtime_dir: Path, keep_sources: frozenset[str] = frozenset()
) -> list[Path]:
    """The same wheels and zips with CPython 3.14 bytecode, compiled inside Pyodide (node), in
    place of their sources but in the files named in `keep_sources`; the standard library
    (python_stdlib.zip) also trimmed to buildsteps/stdlib-keep.txt.

    The npm package's python_stdlib.zip holds only sources, so Pyodide compiles every module it
    imports on every page load: precompiled, a bare boot takes about 1 s instead of 2.5 s here,
    and importing pydantic + pyclient half as long. Without the sources the zip and the wheels
    are about half the size (scripts/pyodide-precompile.mjs: where the .pyc goes for a
    sourceless import); pyclient keeps its sources, so that its tracebacks show its lines.
    Trimmed, the standard library drops from 4.5 MB to 1.8 MB (deflated). Cached by input hash.
    """
    compiled = _precompile(wheels, runtime_dir, keep_sources)
    return [_trimmed(p) if p.name == STDLIB else p for p in compiled]


def _precompile(wheels: list[Path], runtime_dir: Path, keep_sources: frozenset[str]) -> list[Path]:
    script = ROOT / "scripts" / "pyodide-precompile.mjs"
    salt = hashlib.sha256(script.read_bytes() + PYODIDE_VERSION.encode()).hexdigest()
    out: list[Path] = []
    todo: list[tuple[Path, Path]] = []
    for w in wheels:
        mode = "sources" if w.name in keep_sources else "sourceless"
        key = hashlib.sha256((salt + mode + sha256_file(w)).encode()).hexdigest()[:16]
        target = CACHE / "pyc" / key / w.name
        out.append(target)
        if not target.exists():
            todo.append((w, target))
    if not todo:
        log(STEP, f"up to date ({len(wheels)} files)")
        return out
    log(STEP, f"compiling {len(todo)} files inside Pyodide {PYODIDE_VERSION}")
    with tempfile.TemporaryDirectory() as tmp:
        node = shutil.which("node") or "node"
        cmd = [node, str(script), str(runtime_dir), tmp]
        for w, _ in todo:
            cmd += ["--keep-sources", str(w)] if w.name in keep_sources else [str(w)]
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
        if proc.returncode != 0:
            raise BuildError(f"precompiling wheels inside Pyodide failed:\n{proc.stdout[-2000:]}")
        for w, target in todo:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(Path(tmp) / w.name), target)
    return out


def _trimmed(stdlib: Path) -> Path:
    """The precompiled `stdlib` cut down to the keep list, cached by the hash of both and of
    the code that cuts."""
    h = hashlib.sha256(sha256_file(stdlib).encode())
    h.update(KEEP_LIST.read_bytes())
    h.update(Path(__file__).with_name("stdlib.py").read_bytes())
    target = CACHE / "stdlib" / h.hexdigest()[:16] / STDLIB
    if target.exists():
        return target
    modules = trim_stdlib(stdlib, target, read_keep_list())
    log(
        STEP,
        f"{STDLIB}: kept {modules} modules ({KEEP_LIST.name}), "
        f"{stdlib.stat().st_size / 1e6:.1f} MB -> {target.stat().st_size / 1e6:.1f} MB",
    )
    return target
