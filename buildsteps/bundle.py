"""The learning page's modules bundled into one file (app-<hash>/learning-page.js) by esbuild
(scripts/bundle-page.mjs), so that the page loads one module instead of 39; and the read
worker's two into its one (read-worker.js, in place).

Unbundled, each module was its own request: on a returning learner's load, answered from the
service worker's precache one by one, the page's 39 modules took some 60 ms to arrive, and the
first paint and the Python boot waited for the last of them. The modules stay in the dist
beside the bundle: progress-client.js (the JS API for other pages) loads the client's as they
are; the page's own (page/) are served but not precached (service_worker.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from buildsteps import BuildError
from buildsteps.layout import ROOT

SCRIPT = ROOT / "scripts" / "bundle-page.mjs"
#: The bundle's name, at the app directory's own level (where its root modules are).
PAGE_BUNDLE = "learning-page.js"
#: The page's entry module: it imports the rest (first-paint.js among them).
PAGE_ENTRY = "page/app.js"
#: The worker that reads the memory snapshot's files (python-boot.js starts it by this name).
READ_WORKER = "read-worker.js"


def bundle_modules(modules: dict[str, Path], entry: str = PAGE_ENTRY) -> tuple[bytes, list[str]]:
    """`entry` and every module it imports, of `modules` (path in the app directory -> file), as
    one ES module: (its bytes, the modules it holds)."""
    node = shutil.which("node") or "node"
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        for rel, src in modules.items():
            if rel.endswith(".js"):
                (app / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, app / rel)
        target = Path(tmp) / "bundle.js"
        proc = subprocess.run(
            [node, str(SCRIPT), str(app), entry, str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BuildError(f"bundling the page's modules failed:\n{proc.stderr[-2000:]}")
        data = target.read_bytes()
    inputs = json.loads(proc.stdout)
    if entry not in inputs:
        raise BuildError(f"the page's bundle does not hold {entry}: {inputs}")
    return data, inputs
