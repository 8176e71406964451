"""The memory snapshot as the build ships it: named in build.json and in the page's build-files.js,
its metadata true to the heap, the runtime and the shipped wheels, precompressed and precached
(test_dist's re-run checks that it is not made again when nothing changed)."""

from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

from buildsteps.files import HASHED_PATH, sha256_file
from buildsteps.layout import PYODIDE_VERSION
from buildsteps.memory_snapshot import IMPORTS, inputs_key, node_version
from buildsteps.service_worker import precache_entries

from .conftest import Build


def _meta(build: Build) -> dict:  # type: ignore[type-arg]
    return json.loads((build.web / build.manifest["memorySnapshot"] / "meta.json").read_text())


def test_the_build_ships_a_snapshot_the_page_finds(build: Build) -> None:
    name = build.manifest["memorySnapshot"]
    assert re.fullmatch(r"snapshot-[0-9a-f]{12}", name)
    assert re.search(HASHED_PATH, f"{name}/heap.bin")  # immutable, like the runtime
    files_js = (build.web / build.manifest["app"] / "build-files.js").read_text()
    assert f"export const SNAPSHOT_DIR = new URL('../{name}/', import.meta.url)" in files_js
    assert {f"{name}/heap.bin", f"{name}/meta.json"} <= set(build.manifest["files"])
    # the page reads the wheels beside the metadata, so build-files.js names them, in its order
    wheels = re.search(r"^export const SNAPSHOT_WHEELS = (.*)$", files_js, re.M)
    assert wheels and json.loads(wheels[1]) == [w["file"] for w in _meta(build)["wheels"]]
    assert all(f"packages/{w}" in build.manifest["files"] for w in json.loads(wheels[1]))


def test_the_metadata_is_true_to_the_heap_and_the_runtime(build: Build) -> None:
    meta = _meta(build)
    heap = build.web / build.manifest["memorySnapshot"] / meta["heap"]["file"]
    data = heap.read_bytes()
    magic, offset, _json_length = struct.unpack_from("<III", data)
    build_id = "".join(f"{w:08x}" for w in struct.unpack_from("<8I", data, 16))
    assert magic == 0x706E7300 and build_id == meta["buildId"]
    # stored sparse: page size, page count, a bitmap of the pages stored, those pages
    page, pages = struct.unpack_from("<II", data, offset)
    bitmap = data[offset + 8 : offset + 8 + (pages + 7) // 8]
    stored = sum(bin(b).count("1") for b in bitmap)
    start = -(-(offset + 8 + len(bitmap)) // 16) * 16
    assert page == 4096 and start + stored * page == len(data)
    assert 0 < stored < pages  # some pages are all zeros, and not stored
    zero = bytes(page)
    assert all(data[at : at + page] != zero for at in range(start, len(data), page))
    assert meta["format"] == 2 and meta["pyodide"] == PYODIDE_VERSION
    assert meta["heap"] == {
        "file": "heap.bin",
        "size": len(data),
        "sha256": sha256_file(heap),
        "memory": pages * page,
    }
    runtime_js = (build.web / build.manifest["runtime"] / "pyodide.mjs").read_text()
    assert f'BUILD_ID:"{meta["buildId"]}"' in runtime_js  # this very runtime's build
    assert meta["made"]["timeZone"] == "UTC"
    assert meta["imports"] == list(IMPORTS)
    assert meta["libs"] and all(lib["path"].endswith(".so") for lib in meta["libs"])
    assert meta["tableBase"] == meta["libs"][0]["table"][0] > meta["made"]["tableEntries"]
    assert all(lib["memory"][0] < lib["memory"][1] <= pages * page for lib in meta["libs"])


def test_the_metadata_names_exactly_the_shipped_wheels(build: Build) -> None:
    meta = _meta(build)
    packages = build.web / build.manifest["packages"]
    lock = json.loads((build.web / build.manifest["lockfile"]).read_text())
    assert sorted(meta["packages"]) == sorted(lock["packages"])
    assert sorted(w["file"] for w in meta["wheels"]) == sorted(
        p["file_name"] for p in lock["packages"].values()
    )
    for wheel in meta["wheels"]:
        assert sha256_file(packages / wheel["file"]) == wheel["sha256"], wheel["file"]


def test_the_snapshot_is_precompressed_and_precached(build: Build) -> None:
    name = build.manifest["memorySnapshot"]
    sizes = build.manifest["files"][f"{name}/heap.bin"]
    assert sizes["br"] < sizes["identity"] / 4 and sizes["gzip"] < sizes["identity"] / 2
    entries = precache_entries((build.web / "sw.js").read_text())
    assert entries.get(f"{name}/heap.bin", "absent") is None
    assert entries.get(f"{name}/meta.json", "absent") is None


def test_the_snapshot_is_made_again_for_other_inputs_or_another_node(tmp_path: Path) -> None:
    files = [tmp_path / "a.whl", tmp_path / "b.zip"]
    for n, f in enumerate(files):
        f.write_bytes(bytes([n]) * 10)
    key = inputs_key(files, ["pydantic"], "v22.1.0")
    assert key == inputs_key(files, ["pydantic"], "v22.1.0")
    assert key != inputs_key(files, ["pydantic"], "v24.0.0")  # its table entries are Node's
    assert key != inputs_key(files, ["pydantic", "pyclient"], "v22.1.0")
    files[1].write_bytes(b"changed")
    assert key != inputs_key(files, ["pydantic"], "v22.1.0")
    assert re.fullmatch(r"v\d+\.\d+\.\d+", node_version(shutil.which("node") or "node"))
