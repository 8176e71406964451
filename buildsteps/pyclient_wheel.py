"""Step 1: the pure `pyclient` wheel (pyclient only, no pyserver), written reproducibly."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tomllib
import zipfile
from pathlib import Path

from buildsteps import BuildError, log
from buildsteps.layout import DIST, ROOT


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
