"""Where the build reads and writes, and the pinned Pyodide it targets."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
DIST = ROOT / "dist"
DIST_WEB = DIST / "web"
DIST_TEST = DIST / "pyodide-test"
CACHE = ROOT / ".cache" / "build"
WHEEL_CACHE = ROOT / ".cache" / "wheels"

PYODIDE_VERSION = "314.0.7"
PYODIDE_PLATFORM = "pyemscripten_2026_0_wasm32"
PYODIDE_PYTHON = "3.14"
PYODIDE_ABI = "cp314"
# Files of the npm package that the page needs (no CDN, no console pages, no maps).
PYODIDE_CORE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
# Files under web/ that are build inputs, not page files.
WEB_EXCLUDE = {
    "node_modules",
    "package.json",
    "package-lock.json",
    "browser-wheels.txt",
    "test-wheels.txt",
    "README.md",
}
# Packages the page loads; the shipped lockfile holds exactly these and their dependencies.
SHIPPED_ROOTS = ["pydantic", "pyclient"]
TEST_ROOTS = [*SHIPPED_ROOTS, "pytest", "hypothesis", "micropip"]
