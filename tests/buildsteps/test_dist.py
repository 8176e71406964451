"""dist/web as build.py lays it out: content-hashed names that match their contents, an
index.html and a module graph that name only files the dist holds, precompressed variants that
decode to their files, a service worker precaching exactly the build (no variants, revisions on
unhashed entries only, the heap's and the wheels' sha256), build.json telling the truth, and a
re-run that does nothing."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path

import brotli
import pytest

from buildsteps import BuildError
from buildsteps.files import HASHED_PATH, content_name, sha256_file
from buildsteps.page import _local_loader
from buildsteps.service_worker import (
    OFFLINE_INDEX,
    precache_entries,
    precache_integrities,
    precached,
)

from .conftest import Build, run_build

HASHED = re.compile(HASHED_PATH)
VARIANTS = (".br", ".gz")
ROOT_FILES = {"index.html", "progress-client.js", "sw.js"}


def served(build: Build) -> set[str]:
    """Every file of the dist but the variants and build.json."""
    return {
        p.relative_to(build.web).as_posix()
        for p in build.web.rglob("*")
        if p.is_file() and p.suffix not in VARIANTS and p.name != "build.json"
    }


def test_build_json_lists_exactly_the_dist(build: Build) -> None:
    assert set(build.manifest["files"]) == served(build)
    for rel, sizes in build.manifest["files"].items():
        assert sizes["identity"] == (build.web / rel).stat().st_size, rel
    assert not [p for p in build.web.rglob(".*")], "dotfiles in the dist"


def test_every_file_but_the_entry_points_is_under_a_hashed_name(build: Build) -> None:
    for rel in served(build):
        assert bool(HASHED.search(rel)) == (rel not in ROOT_FILES), rel


def test_hashed_names_are_the_hashes_of_their_contents(build: Build) -> None:
    web, manifest = build.web, build.manifest
    for key in ("app", "runtime"):
        folder = web / manifest[key]
        files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
        files = {rel: p for rel, p in files.items() if not rel.endswith(VARIANTS)}
        assert manifest[key].endswith("-" + content_name(files)), key
    lock_path = web / manifest["lockfile"]
    lock = json.loads(lock_path.read_text())
    assert (
        lock_path.name
        == f"pyodide-lock-{hashlib.sha256(lock_path.read_bytes()).hexdigest()[:12]}.json"
    )
    packages = web / manifest["packages"]
    wheels = {p.relative_to(packages).as_posix() for p in packages.glob("*/*.whl")}
    assert wheels == {entry["file_name"] for entry in lock["packages"].values()}
    for entry in lock["packages"].values():
        wheel = packages / entry["file_name"]
        assert sha256_file(wheel) == entry["sha256"]
        assert wheel.parent.name == entry["sha256"][:12]


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def test_index_html_names_only_files_the_dist_holds(build: Build) -> None:
    parser = _Refs()
    parser.feed((build.web / "index.html").read_text())
    local = [r for r in parser.refs if not re.match(r"^([a-z]+:|#|/)", r)]
    assert local, "index.html names no file"
    for ref in local:
        assert (build.web / ref.split("?")[0].split("#")[0]).is_file(), ref
    # the page's modules under their hashed directory; the runtime is found through
    # build-files.js (next test), not named by index.html
    assert any(r.startswith(build.manifest["app"] + "/") for r in local)
    assert not any(r.startswith(("page/", "pyodide/")) for r in local)


def test_the_modules_import_only_files_the_dist_holds(build: Build) -> None:
    pattern = re.compile(r"""(?:from|import)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]""")
    app = build.web / build.manifest["app"]
    modules = [*app.rglob("*.js"), build.web / "progress-client.js"]
    for module in modules:
        for ref in pattern.findall(module.read_text()):
            target = posixpath.normpath(posixpath.join(module.parent.as_posix(), ref))
            assert Path(target).is_file(), f"{module.relative_to(build.web)} imports {ref}"
    build_files = (app / "build-files.js").read_text()
    for key in ("runtime", "lockfile"):
        assert f"../{build.manifest[key]}" in build_files


def test_no_file_of_the_page_names_another_host_to_load_from(build: Build) -> None:
    # Pyodide's loader ships with a public CDN as its default package address: made local.
    urls: set[str] = set()
    for path in build.web.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".mjs", ".json"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            # a named host (the runtime's socket support builds `https://${host}` of its caller's)
            urls |= set(re.findall(r"https?://[A-Za-z0-9][^\s\"'`)<>]*", text))
    # Workbox's console warning links to its documentation: a word to a developer, not a load.
    assert urls <= {"https://bit.ly/wb-precache"}


def test_the_runtimes_loader_keeps_its_packages_at_home(build: Build) -> None:
    loader = next(build.web.glob("pyodide-*/pyodide.mjs")).read_text(encoding="utf-8")
    default = re.findall(r"packageBaseUrl\?\?new URL\(\"\./\",import\.meta\.url\)\.href", loader)
    assert len(default) == 1


def test_a_loader_without_the_expected_default_stops_the_build(tmp_path: Path) -> None:
    loader = tmp_path / "pyodide.mjs"
    loader.write_text("export const cdnUrl = base ?? 'elsewhere/'\n", encoding="utf-8")
    with pytest.raises(BuildError, match="found 0"):
        _local_loader(loader)


def test_the_root_progress_client_re_exports_the_hashed_one(build: Build) -> None:
    shim = (build.web / "progress-client.js").read_text()
    assert f"export * from './{build.manifest['app']}/progress-client.js'" in shim


@pytest.mark.parametrize("kind", ["index.html", "wasm", "stdlib", "wheels"])
def test_big_files_have_smaller_variants_that_decode_to_them(build: Build, kind: str) -> None:
    runtime = build.web / build.manifest["runtime"]
    files = {
        "index.html": [build.web / "index.html"],
        "wasm": [runtime / "pyodide.asm.wasm"],
        "stdlib": [runtime / "python_stdlib.zip"],
        "wheels": sorted((build.web / build.manifest["packages"]).glob("*/*.whl")),
    }[kind]
    assert files
    for path in files:
        data = path.read_bytes()
        if len(data) < 50_000 and kind == "wheels":
            continue  # a small wheel may not gain enough to keep a variant
        br = (path.parent / (path.name + ".br")).read_bytes()
        gz = (path.parent / (path.name + ".gz")).read_bytes()
        assert brotli.decompress(br) == data and gzip.decompress(gz) == data
        assert len(br) <= 0.95 * len(data) and len(gz) <= 0.95 * len(data), path.name


def test_every_variant_decodes_to_its_file_and_is_listed(build: Build) -> None:
    for path in build.web.rglob("*"):
        if path.suffix not in VARIANTS:
            continue
        original = path.with_suffix("")
        data = original.read_bytes()
        packed = path.read_bytes()
        unpacked = brotli.decompress(packed) if path.suffix == ".br" else gzip.decompress(packed)
        assert unpacked == data, path
        rel = original.relative_to(build.web).as_posix()
        if rel != "build.json":
            coding = "br" if path.suffix == ".br" else "gzip"
            assert build.manifest["files"][rel][coding] == len(packed)


def test_the_service_worker_precaches_exactly_the_build(build: Build) -> None:
    entries = precache_entries((build.web / "sw.js").read_text())
    page = precached(served(build) - {"sw.js"})
    assert all(not rel.endswith(".d.ts") for rel in page)  # the types: for host apps' builds
    want = {OFFLINE_INDEX if rel == "index.html" else rel for rel in page}
    assert set(entries) == want
    assert not [u for u in entries if u.endswith(VARIANTS) or u.startswith("api/")]
    for url, revision in entries.items():
        if HASHED.search(url):
            assert revision is None, url  # its URL is its version: the HTTP cache answers
        else:
            assert revision, url  # index.html and the shim: revisioned, fetched fresh
    assert (
        entries[OFFLINE_INDEX] == hashlib.md5((build.web / "index.html").read_bytes()).hexdigest()
    )


def test_the_service_worker_precaches_the_heap_and_the_wheels_only_if_they_match(
    build: Build,
) -> None:
    """Their integrity (sha256) is in the precache manifest: the browser refuses to store other
    bytes, so the page may read them from the precache without hashing them again."""
    sw = (build.web / "sw.js").read_text()
    integrities = precache_integrities(sw)
    heap = f"{build.manifest['memorySnapshot']}/heap.bin"
    wheels = {u for u in precache_entries(sw) if u.endswith(".whl")}
    assert set(integrities) == {heap} | wheels
    assert len(wheels) >= 5, wheels  # pydantic, pydantic_core, pyclient and their dependencies
    for url, integrity in integrities.items():
        digest = hashlib.sha256((build.web / url).read_bytes()).digest()
        assert integrity == "sha256-" + base64.b64encode(digest).decode(), url


def test_the_precache_has_the_name_the_page_reads_the_snapshot_from(build: Build) -> None:
    """Workbox's cacheId is the page's PRECACHE_ID, and the worker's static routes name the same
    cache: the page trusts that cache alone, and a precache of earlier builds is not it."""
    app = build.web / build.manifest["app"]
    found = re.search(
        r"export const PRECACHE_ID = '([a-z-]+)'", (app / "snapshot-files.js").read_text()
    )
    assert found, "snapshot-files.js names no PRECACHE_ID"
    precache_id = found.group(1)
    assert precache_id != "workbox"  # the default name, which builds before the integrities had
    sw = (build.web / "sw.js").read_text().replace(" ", "")
    assert f'({{prefix:"{precache_id}"}})' in sw
    routes = (app / "sw-network-routes.js").read_text()
    assert f"`{precache_id}-precache-v2-${{self.registration.scope}}`" in routes


def test_the_service_worker_imports_only_its_network_routes_from_this_build(build: Build) -> None:
    sw = (build.web / "sw.js").read_text()
    imported = re.findall(r"importScripts\(([^)]*)\)", sw)
    assert imported == [f'"{build.manifest["app"]}/sw-network-routes.js"'], imported
    assert (build.web / build.manifest["app"] / "sw-network-routes.js").is_file()
    assert "import(" not in sw
    assert "self.skipWaiting()" in sw and "self.clients.claim()" in sw
    assert 'fallbackURL:"index.html?offline"' in sw.replace(" ", "")


def test_a_rerun_with_nothing_changed_does_nothing(build: Build) -> None:
    log = run_build()
    assert "(0 copied, 0 removed)" in log, log
    assert "5/6 memory snapshot: up to date" in log, log
    assert "compressing" not in log and "generated by Workbox" not in log, log
