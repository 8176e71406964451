"""web/index.html preloads every module its scripts import statically, however deep: the page's
import graph then loads in one round trip, and the first paint (page/first-paint.js imports
progress-client.js, which imports the Python boot's modules) waits for no second one."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
# `import … from '…'`, `export … from '…'` and a bare `import '…'`; not `import(…)`
STATIC_IMPORT = re.compile(
    r"^\s*(?:import|export)\s+(?:[^'\";]*?\sfrom\s+)?['\"](\.{1,2}/[^'\"]+)['\"]", re.M | re.S
)
MODULE_SCRIPT = re.compile(r"<script\s+type=\"module\"\s+src=\"([^\"]+)\"")
PRELOAD = re.compile(r"<link\s+rel=\"modulepreload\"\s+href=\"([^\"]+)\"")


def static_imports(module: Path) -> set[str]:
    """The modules `module` imports statically, as paths relative to web/."""
    found = set()
    for spec in STATIC_IMPORT.findall(module.read_text(encoding="utf-8")):
        target = (module.parent / spec).resolve()
        found.add(target.relative_to(WEB).as_posix())
    return found


def import_graph(entries: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        path = WEB / rel
        if path.is_file():  # build-files.js and storage-keys.js are the build's: no imports
            todo.extend(static_imports(path))
    return seen


def test_static_imports_are_found_however_they_are_written() -> None:
    text = (
        "import { a,\n  b } from './one.js'\nexport { c } from \"../two.js\"\nimport './three.js'\n"
        "const later = await import('./dynamic.js')\n"
    )
    assert set(STATIC_IMPORT.findall(text)) == {"./one.js", "../two.js", "./three.js"}


def test_every_module_the_page_imports_statically_is_preloaded() -> None:
    html = (WEB / "index.html").read_text(encoding="utf-8")
    entries = MODULE_SCRIPT.findall(html)
    assert "page/first-paint.js" in entries and "page/app.js" in entries, entries
    graph = import_graph(entries)
    assert "python-boot.js" in graph, "the walk did not reach the Python boot's modules"
    missing = sorted(graph - set(PRELOAD.findall(html)))
    assert missing == [], f"imported but not preloaded: {missing}"
