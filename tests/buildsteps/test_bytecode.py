"""The Python the dist ships: the standard library and the third-party wheels as bytecode
without sources, each .pyc where its .py was (a sourceless import finds it only there); pyclient
with its sources and their bytecode in __pycache__; the parts buildsteps/wheel-drop.txt names
gone; every wheel's RECORD listing exactly what the wheel holds; the lockfile naming each wheel's
top-level imports."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import posixpath
import zipfile
from pathlib import Path

import pytest

from buildsteps.wheel_trim import matches, read_drop_list

from .conftest import Build

# Unchecked hash-based .pyc (PEP 552): flags 0b01, the source's hash never compared.
UNCHECKED_HASH = (1).to_bytes(4, "little")


def _wheels(build: Build) -> dict[str, Path]:
    return {p.name: p for p in (build.web / build.manifest["packages"]).glob("*/*.whl")}


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def _third_party(build: Build) -> dict[str, Path]:
    return {n: p for n, p in _wheels(build).items() if not n.startswith("pyclient-")}


def test_the_standard_library_is_bytecode_without_sources(build: Build) -> None:
    members = _members(build.web / build.manifest["runtime"] / "python_stdlib.zip")
    pyc = [n for n in members if n.endswith(".pyc")]
    assert len(pyc) > 200
    assert not [n for n in members if n.endswith(".py") or "__pycache__" in n]
    assert "__future__.pyc" in members and "json/__init__.pyc" in members
    assert all(members[n][4:8] == UNCHECKED_HASH for n in pyc)


def test_the_libraries_wheels_are_bytecode_without_sources(build: Build) -> None:
    wheels = _third_party(build)
    assert len(wheels) == 5
    for name, path in wheels.items():
        members = _members(path)
        assert not [n for n in members if n.endswith(".py") or "__pycache__" in n], name
        pyc = [n for n in members if n.endswith(".pyc")]
        assert pyc, name
        assert all(members[n][4:8] == UNCHECKED_HASH for n in pyc), name
    pydantic = _members(next(p for n, p in wheels.items() if n.startswith("pydantic-")))
    assert {"pydantic/__init__.pyc", "pydantic/main.pyc", "pydantic/_internal/_fields.pyc"} <= set(
        pydantic
    )
    extensions = _members(next(p for n, p in wheels.items() if n.startswith("typing_ext")))
    assert "typing_extensions.pyc" in extensions


def test_pyclient_keeps_its_sources_with_their_bytecode_beside(build: Build) -> None:
    (path,) = [p for n, p in _wheels(build).items() if n.startswith("pyclient-")]
    members = _members(path)
    sources = [n for n in members if n.endswith(".py")]
    assert "pyclient/bridge.py" in sources and len(sources) > 20
    for source in sources:
        head, base = posixpath.split(source)
        cached = posixpath.join(head, "__pycache__", base[:-3] + ".cpython-314.pyc")
        assert members[cached][4:8] == UNCHECKED_HASH, source
    assert not [n for n in members if n.endswith(".pyc") and "/__pycache__/" not in n]


def test_the_dropped_parts_are_gone_and_metadata_has_no_description(build: Build) -> None:
    entries = read_drop_list()
    for name, path in _third_party(build).items():
        members = _members(path)
        # the bytecode of a dropped module is gone too
        for member in members:
            source = member[:-1] if member.endswith(".pyc") else member
            assert not [e for e in entries if matches(source, e)], (name, member)
        (metadata,) = [data for n, data in members.items() if n.endswith(".dist-info/METADATA")]
        assert metadata.endswith(b"\n\n") and metadata.count(b"\n\n") == 1, name
        assert b"\nName: " in metadata and b"\nVersion: " in metadata, name
    pydantic = _members(next(p for n, p in _third_party(build).items() if "pydantic-2" in n))
    assert not [n for n in pydantic if n.startswith(("pydantic/v1/", "pydantic/mypy."))]
    assert "pydantic/deprecated/copy_internals.pyc" in pydantic  # BaseModel.copy() needs it


@pytest.mark.parametrize("kind", ["libraries", "pyclient"])
def test_every_record_lists_exactly_its_wheel(build: Build, kind: str) -> None:
    for name, path in _wheels(build).items():
        if name.startswith("pyclient-") != (kind == "pyclient"):
            continue
        members = _members(path)
        (record,) = [n for n in members if n.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(io.StringIO(members[record].decode())))
        assert sorted(r[0] for r in rows) == sorted(members), name
        for file, digest, size in rows:
            if file == record:
                continue
            data = members[file]
            sha = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, size) == (f"sha256={sha}", str(len(data))), (name, file)


def test_the_lockfile_names_each_wheels_top_level_imports(build: Build) -> None:
    lock = json.loads((build.web / build.manifest["lockfile"]).read_text())
    imports = {name: entry["imports"] for name, entry in lock["packages"].items()}
    assert imports == {
        "annotated-types": ["annotated_types"],
        "pyclient": ["pyclient"],
        "pydantic": ["pydantic"],
        "pydantic-core": ["pydantic_core"],
        "typing-extensions": ["typing_extensions"],
        "typing-inspection": ["typing_inspection"],
    }
