"""The learning page's modules bundled into one (buildsteps/bundle.py): index.html loads only
the bundle, the bundle holds every module the page imports statically, it is exactly what
bundling the dist's modules gives, the read worker is one module as well, and a module in a
subdirectory still finds the files beside it (its own import.meta.url) once bundled."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from buildsteps import BuildError
from buildsteps.bundle import PAGE_BUNDLE, PAGE_ENTRY, READ_WORKER, SCRIPT, bundle_modules
from buildsteps.layout import WEB
from buildsteps.service_worker import precache_entries

from .conftest import Build

# `import … from '…'`, `export … from '…'` and a bare `import '…'`; not `import(…)`
STATIC_IMPORT = re.compile(
    r"^\s*(?:import|export)\s+(?:[^'\";]*?\sfrom\s+)?['\"](\.{1,2}/[^'\"]+)['\"]", re.M | re.S
)
MODULE_SCRIPT = re.compile(r"<script\s+type=\"module\"\s+src=\"([^\"]+)\"")
NODE = shutil.which("node")


def import_graph(app: Path, entry: str) -> set[str]:
    """`entry` and the modules it imports statically, however deep (paths under `app`)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        module = app / rel
        for spec in STATIC_IMPORT.findall(module.read_text(encoding="utf-8")):
            todo.append((module.parent / spec).resolve().relative_to(app.resolve()).as_posix())
    return seen


def app_modules(build: Build) -> dict[str, Path]:
    app = build.web / build.manifest["app"]
    return {p.relative_to(app).as_posix(): p for p in app.rglob("*.js") if p.name != PAGE_BUNDLE}


def test_static_imports_are_found_however_they_are_written() -> None:
    text = (
        "import { a,\n  b } from './one.js'\nexport { c } from \"../two.js\"\nimport './three.js'\n"
        "const later = await import('./dynamic.js')\n"
    )
    assert set(STATIC_IMPORT.findall(text)) == {"./one.js", "../two.js", "./three.js"}


def test_the_page_loads_one_module_the_bundle(build: Build) -> None:
    html = (build.web / "index.html").read_text(encoding="utf-8")
    assert MODULE_SCRIPT.findall(html) == [f"{build.manifest['app']}/{PAGE_BUNDLE}"]
    assert "modulepreload" not in html  # nothing else of the page's to fetch


def test_the_bundle_holds_every_module_the_page_imports(build: Build) -> None:
    app = build.web / build.manifest["app"]
    graph = import_graph(app, PAGE_ENTRY)
    assert {"page/first-paint.js", "python-boot.js", "build-files.js"} <= graph
    data, inputs = bundle_modules(app_modules(build))
    assert sorted(graph) == inputs
    # the dist's bundle is that of the modules beside it: built from these bytes, no others
    assert data == (app / PAGE_BUNDLE).read_bytes()


def test_the_read_worker_is_one_module_too(build: Build) -> None:
    app = build.web / build.manifest["app"]
    worker = (app / READ_WORKER).read_text(encoding="utf-8")
    assert STATIC_IMPORT.findall(worker) == []  # snapshot-files.js is in it
    assert "function readBuildFile(" in worker and "self.onmessage" in worker
    data, inputs = bundle_modules(
        {READ_WORKER: WEB / READ_WORKER, "snapshot-files.js": app / "snapshot-files.js"},
        READ_WORKER,
    )
    assert inputs == [READ_WORKER, "snapshot-files.js"]
    assert data == (app / READ_WORKER).read_bytes()


def test_the_page_precaches_its_bundle_not_the_modules_in_it(build: Build) -> None:
    app = build.manifest["app"]
    entries = set(precache_entries((build.web / "sw.js").read_text(encoding="utf-8")))
    assert {f"{app}/{PAGE_BUNDLE}", f"{app}/{READ_WORKER}", f"{app}/progress-client.js"} <= entries
    page_modules = {f"{app}/{rel}" for rel in app_modules(build) if rel.startswith("page/")}
    assert f"{app}/{PAGE_ENTRY}" in page_modules  # served
    assert not page_modules & entries


def test_a_bundled_module_finds_the_files_beside_it_as_it_did_unbundled(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "page" / "views").mkdir(parents=True)
    (app / "top.js").write_text("export const top = new URL('../runtime/', import.meta.url).href\n")
    (app / "page" / "views" / "deep.js").write_text(
        "export const deep = new URL('../../content/', import.meta.url).href\n"
        "export const own = import.meta.url\n"
    )
    (app / "page" / "entry.js").write_text(
        "export { top } from '../top.js'\nexport { deep, own } from './views/deep.js'\n"
        "export const entry = new URL('./x.json', import.meta.url).href\n"
    )
    data, inputs = bundle_modules(
        {p.relative_to(app).as_posix(): p for p in app.rglob("*.js")}, "page/entry.js"
    )
    assert inputs == ["page/entry.js", "page/views/deep.js", "top.js"]
    (app / PAGE_BUNDLE).write_bytes(data)  # served at the app's own level
    script = (
        "const [a, b] = await Promise.all(process.argv.slice(1).map((f) => import(f)));"
        "console.log(JSON.stringify([{ ...a }, { ...b }]))"
    )
    urls = [(app / "page" / "entry.js").as_uri(), (app / PAGE_BUNDLE).as_uri()]
    assert NODE is not None, "the build needs node: so does this"
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", script, *urls], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    unbundled, bundled = json.loads(out.stdout)
    assert bundled == unbundled
    assert unbundled["deep"] == (app / "content").as_uri() + "/"
    assert unbundled["own"] == (app / "page" / "views" / "deep.js").as_uri()


def test_modules_reached_through_a_symlink_keep_their_own_urls(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "page").mkdir(parents=True)
    (real / "page" / "app.js").write_text("export const base = new URL('../c/', import.meta.url)\n")
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    out = tmp_path / "bundle.js"
    assert NODE is not None, "the build needs node: so does this"
    proc = subprocess.run(
        [NODE, str(SCRIPT), str(tmp_path / "link"), PAGE_ENTRY, str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [PAGE_ENTRY]
    assert 'new URL("./page/app.js", import.meta.url)' in out.read_text()


def test_a_module_below_the_top_using_import_meta_otherwise_stops_the_build(
    tmp_path: Path,
) -> None:
    (tmp_path / "page").mkdir()
    entry = tmp_path / "page" / "app.js"
    entry.write_text("export const where = import.meta.resolve('./x.js')\n")
    with pytest.raises(
        BuildError, match=re.escape("uses import.meta otherwise than as import.meta.url")
    ):
        bundle_modules({"page/app.js": entry})


def test_a_module_that_cannot_be_bundled_stops_the_build(tmp_path: Path) -> None:
    (tmp_path / "page").mkdir()
    entry = tmp_path / "page" / "app.js"
    entry.write_text("import { gone } from './missing.js'\nconsole.log(gone)\n")
    with pytest.raises(BuildError, match="bundling the page's modules failed"):
        bundle_modules({"page/app.js": entry})
