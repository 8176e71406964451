"""Step 3: the pinned browser wheels (web/browser-wheels.txt, web/test-wheels.txt), downloaded
once into .cache/wheels and sha256-checked on every build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from buildsteps import BuildError, log
from buildsteps.files import sha256_file
from buildsteps.layout import PYODIDE_ABI, PYODIDE_PLATFORM, PYODIDE_PYTHON, WHEEL_CACHE


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
