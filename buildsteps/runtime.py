"""Step 2: the pinned Pyodide runtime, installed from web/package-lock.json by `npm ci`."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from buildsteps import BuildError, log
from buildsteps.layout import PYODIDE_CORE_FILES, PYODIDE_VERSION, WEB


def npm_ci() -> Path:
    step = "2/6 pyodide runtime (npm ci)"
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None:
        raise BuildError(
            "npm and node were not found: install Node.js 18 or newer with npm "
            "(Debian: apt-get install -y nodejs npm) and run the build again."
        )
    lock = WEB / "package-lock.json"
    pkg_dir = WEB / "node_modules" / "pyodide"
    stamp = WEB / "node_modules" / ".build-stamp"
    want = hashlib.sha256(lock.read_bytes() + (WEB / "package.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want and (pkg_dir / "package.json").exists():
        log(step, f"up to date (pyodide {PYODIDE_VERSION})")
    else:
        log(step, "running npm ci in web/")
        proc = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WEB,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BuildError(f"npm ci failed in web/ (exit {proc.returncode}):\n{proc.stdout}")
        stamp.write_text(want)
    version = json.loads((pkg_dir / "package.json").read_text())["version"]
    if version != PYODIDE_VERSION:
        raise BuildError(f"web/node_modules has pyodide {version}, expected {PYODIDE_VERSION}.")
    for f in PYODIDE_CORE_FILES:
        if not (pkg_dir / f).is_file():
            raise BuildError(
                f"the pyodide npm package lacks {f}: delete web/node_modules and rebuild."
            )
    return pkg_dir
