"""Step 5b: the page's Pyodide memory snapshot (web/memory-snapshot.js says what it is, how it is
restored and why each part is needed), made in Node by scripts/make-memory-snapshot.mjs with the
shipped runtime, standard library and wheels, with TZ=UTC.

Its bytes are not reproducible (Python's string-hash secret and pydantic-core's seeds differ run
to run), so it is cached by the hash of its inputs: the runtime's files, the standard library,
every shipped wheel, the modules imported, the code that makes it and the Node version. The dist
holds it as snapshot-<hash>/heap.bin and its metadata snapshot-<hash>/meta.json (layout, table
base, the runtime's build id, sizes and sha256 of the heap and of each wheel, with the wheel's
path under packages/).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from buildsteps import BuildError, log
from buildsteps.files import sha256_file
from buildsteps.layout import CACHE, PYODIDE_VERSION, ROOT, WEB

STEP = "5/6 memory snapshot"
SCRIPT = ROOT / "scripts" / "make-memory-snapshot.mjs"
# the page's code that makes and restores it
SHARED = tuple(
    WEB / name
    for name in ("memory-snapshot.js", "runtime-module.js", "runtime-table.js", "snapshot-files.js")
)
RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm")
#: Imported before the heap is taken: pydantic and every module of pyclient the page's start
#: needs but those that hold JS objects (pyclient.bridge and pyclient.adapters.pyodide import
#: `js`, pyodide.ffi.wrappers and the page's JS helpers: imported after the restore).
IMPORTS = (
    "asyncio",
    "pydantic",
    "pyclient",
    "pyclient.core.models",
    "pyclient.core.sync_state",
    "pyclient.errors",
    "pyclient.session",
    "pyclient.store.keys",
    "pyclient.store.session_format",
    "pyclient.worker",
)


@dataclass(frozen=True)
class MemorySnapshot:
    heap: Path
    meta: Path  # as made; the dist's copy adds each wheel's path (page.py)


def node_version(node: str) -> str:
    """What ``node --version`` prints (the engine the heap is made in: its table entries are in
    the metadata), or "" when it cannot say."""
    try:
        proc = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False, timeout=60
        )
    except OSError:
        return ""
    return proc.stdout.strip()


def inputs_key(files: list[Path], packages: list[str], node: str) -> str:
    """The cache key of a snapshot made from ``files`` (by name and content), with
    ``packages`` installed, by Node version ``node``."""
    h = hashlib.sha256(PYODIDE_VERSION.encode())
    for p in files:
        h.update(f"{p.name}\0{sha256_file(p)}\0".encode())
    h.update(json.dumps([IMPORTS, packages, node]).encode())
    return h.hexdigest()[:16]


def make_memory_snapshot(
    runtime_dir: Path, stdlib: Path, lockfile: Path, wheels: list[Path], packages: list[str]
) -> MemorySnapshot:
    """The snapshot of the runtime in `runtime_dir` with `stdlib` and `wheels` installed (made
    now, or the one made before from the same inputs)."""
    node = shutil.which("node") or "node"
    key = inputs_key(
        [SCRIPT, *SHARED, *(runtime_dir / f for f in RUNTIME_FILES), stdlib, *wheels],
        packages,
        node_version(node),
    )
    out = CACHE / "memory-snapshot" / key
    made = MemorySnapshot(out / "heap.bin", out / "meta.json")
    if made.heap.exists() and made.meta.exists():
        log(STEP, "up to date")
        return made
    cmd = [node, str(SCRIPT), str(runtime_dir), str(stdlib), str(lockfile)]
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        cmd.append(tmp)
        for w in wheels:
            cmd += ["--wheel", str(w)]
        for m in IMPORTS:
            cmd += ["--import", m]
        for name in packages:
            cmd += ["--package", name]
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            env={**os.environ, "TZ": "UTC"},
            timeout=600,
        )
        if proc.returncode != 0:
            tail = "\n".join(line[:300] for line in proc.stdout.splitlines()[-30:])
            raise BuildError(f"making the memory snapshot in Node failed:\n{tail}")
        out.mkdir(parents=True, exist_ok=True)
        for name in ("heap.bin", "meta.json"):
            os.replace(Path(tmp) / name, out / name)
    log(STEP, proc.stdout.strip().splitlines()[-1].removeprefix("make-memory-snapshot: "))
    return made


def dist_meta(snapshot: MemorySnapshot, wheel_files: dict[str, str]) -> bytes:
    """The metadata the page reads: as made, each wheel with its path under packages/."""
    meta = json.loads(snapshot.meta.read_text())
    for wheel in meta["wheels"]:
        if wheel["name"] not in wheel_files:
            raise BuildError(f"the memory snapshot holds {wheel['name']}, which is not shipped.")
        wheel["file"] = wheel_files[wheel["name"]]
    meta["heap"]["file"] = "heap.bin"
    return (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode()
