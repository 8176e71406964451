"""Build the offline web dist: `python build.py` (safe to re-run, quick when nothing changed).

Steps:
  1. the pure `pyclient` wheel (pyclient only, no pyserver), written reproducibly;
  2. the pinned Pyodide runtime through `npm ci` in web/;
  3. the pinned browser wheels (web/browser-wheels.txt, web/test-wheels.txt), sha256-checked;
  4. bytecode for the standard library and the shipped wheels, compiled by the shipped Pyodide
     itself (a page boots in about half the time);
  5. pyodide-lock.json trimmed to what is shipped (pyodide_lock), plus a test lockfile;
  6. dist/web/ (page + runtime + wheels) and dist/pyodide-test/ (extra wheels for running the
     core tests inside Pyodide; never served).

Nothing here fetches anything at run time of the page: the dist is self-contained.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

if sys.version_info < (3, 12):  # noqa: UP036 - a clear sentence for an old interpreter
    sys.exit(
        "build.py needs Python 3.12 or newer: run it through scripts/bootstrap's .venv "
        "(.venv/bin/python build.py) or install python3.12."
    )

import tomllib

ROOT = Path(__file__).resolve().parent
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
SHIPPED_ROOTS = ["pydantic", "pyclient", "micropip"]
TEST_ROOTS = [*SHIPPED_ROOTS, "pytest", "hypothesis"]


class BuildError(Exception):
    """A problem the user can fix; printed as one sentence, exit status 1."""


def log(step: str, msg: str) -> None:
    print(f"[build] {step}: {msg}", flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


# --------------------------------------------------------------------------- 1. pyclient wheel


def _project_meta() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project: dict[str, object] = data["project"]
    return project


def _pyclient_sources() -> list[Path]:
    pkg = ROOT / "pyclient"
    if not (pkg / "__init__.py").is_file():
        raise BuildError(
            "pyclient/__init__.py is missing: the pyclient package must exist to build."
        )
    files = [
        p
        for p in pkg.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    ]
    return sorted(files)


def build_pyclient_wheel() -> Path:
    """Write dist/wheels/pyclient-<version>+<srchash>-py3-none-any.whl reproducibly.

    The wheel is zipped by hand (fixed timestamps, sorted entries) so that the same sources give
    the same bytes and the same sha256: re-runs are no-ops, and the content hash in the local
    version label gives every change a new URL (no stale browser cache of an old wheel).
    """
    step = "1/6 pyclient wheel"
    meta = _project_meta()
    sources = _pyclient_sources()
    src_hash = hashlib.sha256()
    for p in sources:
        src_hash.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    deps = [str(d) for d in meta.get("dependencies", [])]  # type: ignore[attr-defined]
    src_hash.update(json.dumps([meta["version"], deps]).encode())
    version = f"{meta['version']}+{src_hash.hexdigest()[:12]}"
    name = f"pyclient-{version}-py3-none-any.whl"
    out_dir = DIST / "wheels"
    out = out_dir / name
    if out.exists():
        log(step, f"up to date ({name})")
        return out
    dist_info = f"pyclient-{version}.dist-info"
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            "Name: pyclient",
            f"Version: {version}",
            "Summary: Learning-progress sync client for CPython and Pyodide.",
            f"Requires-Python: {meta.get('requires-python', '>=3.12')}",
            *(f"Requires-Dist: {d}" for d in deps),
            "",
        ]
    )
    wheel_txt = (
        "Wheel-Version: 1.0\nGenerator: build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entries: list[tuple[str, bytes]] = [
        (p.relative_to(ROOT).as_posix(), p.read_bytes()) for p in sources
    ]
    entries.append((f"{dist_info}/METADATA", metadata.encode()))
    entries.append((f"{dist_info}/WHEEL", wheel_txt.encode()))
    entries.append((f"{dist_info}/top_level.txt", b"pyclient\n"))
    record_lines = []
    for arcname, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{arcname},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    entries.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("pyclient-*.whl"):
        old.unlink()
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    os.replace(tmp, out)
    log(step, f"built {name} ({len(sources)} files)")
    return out


# --------------------------------------------------------------------------- 2. npm ci


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


# --------------------------------------------------------------------------- 3. wheels


def read_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fname, digest = line.split()
        pins[fname] = digest.lower()
    return pins


def download_wheels(pins: dict[str, str], label: str) -> list[Path]:
    from packaging.utils import parse_wheel_filename

    step = f"3/6 {label} wheels"
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    missing = [
        f
        for f, d in pins.items()
        if not (WHEEL_CACHE / f).exists() or sha256_file(WHEEL_CACHE / f) != d
    ]
    if missing:
        log(step, f"downloading {len(missing)} of {len(pins)}: {', '.join(missing)}")
        with tempfile.TemporaryDirectory() as tmp:
            req = Path(tmp) / "requirements.txt"
            lines = []
            for f in missing:
                name, version, _, _ = parse_wheel_filename(f)
                lines.append(f"{name}=={version} --hash=sha256:{pins[f]}")
            req.write_text("\n".join(lines) + "\n")
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--require-hashes",
                "--only-binary=:all:",
                "--platform",
                PYODIDE_PLATFORM,
                "--python-version",
                PYODIDE_PYTHON,
                "--implementation",
                "cp",
                "--abi",
                PYODIDE_ABI,
                "-d",
                str(Path(tmp) / "dl"),
                "-r",
                str(req),
            ]
            proc = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
            )
            if proc.returncode != 0:
                raise BuildError(f"pip download of pinned browser wheels failed:\n{proc.stdout}")
            for f in missing:
                got = Path(tmp) / "dl" / f
                if not got.exists():
                    raise BuildError(f"pip did not produce {f}: check the pin in web/*-wheels.txt.")
                shutil.move(str(got), WHEEL_CACHE / f)
    paths = []
    for f, digest in pins.items():
        p = WHEEL_CACHE / f
        actual = sha256_file(p)
        if actual != digest:
            p.unlink()
            raise BuildError(f"sha256 mismatch for {f}: pinned {digest}, downloaded {actual}.")
        paths.append(p)
    if not missing:
        log(step, f"up to date ({len(pins)} wheels, sha256 checked)")
    return paths


# --------------------------------------------------------------------------- 4. bytecode


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


# --------------------------------------------------------------------------- 5. lockfile


def _is_pure(path: Path) -> bool:
    return path.name.endswith("-none-any.whl")


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
        parse_top_level_import_name,
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
        depends = []
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
                imports=parse_top_level_import_name(w) or [],
                depends=depends,
            )
        entry.file_name = w.name
        entry.version = str(version)
        entry.depends = depends
        update_package_sha256(entry, w)
        spec.packages[key] = entry
    spec = add_wheels_to_spec(spec, pure, base_path=Path(os.path.commonpath(pure)))
    for w in pure:  # the dist keeps every wheel beside the lockfile: names only
        entry = spec.packages[canonicalize_name(parse_wheel_filename(w.name)[0])]
        entry.file_name = w.name
        entry.imports = [i for i in entry.imports if i != "__pycache__"]
    # Trim to the closure of the roots.
    keep: set[str] = set()
    todo = [canonicalize_name(r) for r in roots]
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


# --------------------------------------------------------------------------- 5. assemble


def sync_tree(files: dict[str, Path], dest: Path) -> tuple[int, int]:
    """Make `dest` hold exactly `files` (relative name -> source); return (copied, removed)."""
    copied = removed = 0
    dest.mkdir(parents=True, exist_ok=True)
    for rel, src in files.items():
        out = dest / rel
        if out.exists() and not out.is_symlink():
            st_s, st_d = src.stat(), out.stat()
            if st_s.st_size == st_d.st_size and int(st_s.st_mtime) == int(st_d.st_mtime):
                continue
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        shutil.copy2(src, tmp)
        os.replace(tmp, out)  # a page or test reading the dist never sees half a file
        copied += 1
    keep = {dest / rel for rel in files}
    for p in sorted(dest.rglob("*"), reverse=True):
        if p.name.endswith(".tmp") and p.name.startswith("."):
            continue  # another build's copy in flight
        if p.is_file() and p not in keep:
            p.unlink()
            removed += 1
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    return copied, removed


def page_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in sorted(WEB.rglob("*")):
        rel = p.relative_to(WEB)
        if rel.parts[0] in WEB_EXCLUDE or "__pycache__" in rel.parts or not p.is_file():
            continue
        files[rel.as_posix()] = p
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--no-test-runtime",
        action="store_true",
        help="skip dist/pyodide-test (the wheels used to run tests in Pyodide)",
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    try:
        wheel = build_pyclient_wheel()
        pkg_dir = npm_ci()
        shipped = download_wheels(read_pins(WEB / "browser-wheels.txt"), "browser")
        test_only = (
            []
            if args.no_test_runtime
            else download_wheels(read_pins(WEB / "test-wheels.txt"), "test-only")
        )
        compiled = precompile_python([pkg_dir / "python_stdlib.zip", wheel, *shipped], pkg_dir)
        stdlib, wheel, shipped = compiled[0], compiled[1], compiled[2:]

        step = "5/6 pyodide-lock.json"
        base_lock = pkg_dir / "pyodide-lock.json"
        lock = make_lockfile(base_lock, [wheel, *shipped], SHIPPED_ROOTS)
        lock_bytes = (json.dumps(lock, indent=1, sort_keys=True) + "\n").encode()
        CACHE.mkdir(parents=True, exist_ok=True)
        changed = write_if_changed(CACHE / "pyodide-lock.json", lock_bytes)
        log(step, f"{'written' if changed else 'unchanged'}: {', '.join(lock['packages'])}")  # type: ignore[arg-type]
        if not args.no_test_runtime:
            test_lock = make_lockfile(base_lock, [wheel, *shipped, *test_only], TEST_ROOTS)
            test_bytes = (json.dumps(test_lock, indent=1, sort_keys=True) + "\n").encode()
            write_if_changed(CACHE / "pyodide-test-lock.json", test_bytes)

        step = "6/6 dist"
        files = page_files()
        if "index.html" not in files:
            raise BuildError("web/index.html is missing.")
        for f in PYODIDE_CORE_FILES:
            files[f"pyodide/{f}"] = stdlib if f == stdlib.name else pkg_dir / f
        for w in [wheel, *shipped]:
            files[f"pyodide/{w.name}"] = w
        files["pyodide/pyodide-lock.json"] = CACHE / "pyodide-lock.json"
        copied, removed = sync_tree(files, DIST_WEB)
        log(step, f"dist/web: {len(files)} files ({copied} copied, {removed} removed)")
        if not args.no_test_runtime:
            tfiles = {w.name: w for w in [wheel, *shipped, *test_only]}
            tfiles["pyodide-lock.json"] = CACHE / "pyodide-test-lock.json"
            copied, removed = sync_tree(tfiles, DIST_TEST)
            log(
                step, f"dist/pyodide-test: {len(tfiles)} files ({copied} copied, {removed} removed)"
            )
    except BuildError as e:
        print(f"[build] error: {e}", file=sys.stderr, flush=True)
        return 1
    print(f"[build] done in {time.monotonic() - t0:.1f} s: dist/web is ready", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
