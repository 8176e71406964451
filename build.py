"""Build the offline web dist: `python build.py` (safe to re-run, quick when nothing changed).

Steps (each a module of buildsteps/):
  1. the pure `pyclient` wheel (pyclient only, no pyserver), written reproducibly;
  2. the pinned Pyodide runtime through `npm ci` in web/;
  3. the pinned browser wheels (web/browser-wheels.txt, web/test-wheels.txt), sha256-checked;
     the shipped ones without what nothing loads (wheel_trim, buildsteps/wheel-drop.txt);
  4. bytecode for the standard library and the shipped wheels, compiled by the shipped Pyodide
     itself (a page boots in about half the time), shipped without the sources but pyclient's;
     the standard library cut down to what the page imports (stdlib); then the zips written
     again as stored_zips decides (stored members, so that the server's brotli compresses
     each archive as a whole);
  5. pyodide-lock.json trimmed to what is shipped (pyodide_lock), plus a test lockfile; the
     memory snapshot of the runtime with those packages imported, made in Node (memory_snapshot);
  6. dist/web/ laid out like a production static site (page): the page's modules and content,
     the runtime and each wheel under names of their contents (immutable), index.html and a
     progress-client.js shim as stable entry points, `.br`/`.gz` beside every compressible
     file (compress, ServeStatic's Compressor), the service worker sw.js (service_worker,
     Workbox) and build.json (what the build holds); and dist/pyodide-test/ (extra wheels for
     running the core tests inside Pyodide; never served).

Nothing here fetches anything at run time of the page: the dist is self-contained.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

if sys.version_info < (3, 12):  # noqa: UP036 - a clear sentence for an old interpreter
    sys.exit(
        "build.py needs Python 3.12 or newer: run it through scripts/bootstrap's .venv "
        "(.venv/bin/python build.py) or install python3.12."
    )

from buildsteps import BuildError
from buildsteps.bytecode import precompile_python
from buildsteps.files import write_if_changed
from buildsteps.layout import CACHE, WEB
from buildsteps.lockfile import write_lockfiles
from buildsteps.memory_snapshot import make_memory_snapshot
from buildsteps.page import assemble_test_runtime, assemble_web, plan_web
from buildsteps.pyclient_wheel import build_pyclient_wheel
from buildsteps.runtime import npm_ci
from buildsteps.storage_keys import read_keys, storage_keys_js
from buildsteps.stored_zips import store_zips
from buildsteps.wheel_trim import trim_wheels
from buildsteps.wheels import download_wheels, read_pins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--no-test-runtime",
        action="store_true",
        help="skip dist/pyodide-test (the wheels used to run tests in Pyodide)",
    )
    parser.add_argument(
        "--no-memory-snapshot",
        action="store_true",
        help="ship no memory snapshot: the page always boots the normal way (a first visit "
        "downloads about 5.6 MB less; see the README)",
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    try:
        wheel = build_pyclient_wheel()
        pkg_dir = npm_ci()
        shipped = trim_wheels(download_wheels(read_pins(WEB / "browser-wheels.txt"), "browser"))
        test_only = (
            None
            if args.no_test_runtime
            else download_wheels(read_pins(WEB / "test-wheels.txt"), "test-only")
        )
        compiled = precompile_python(
            [pkg_dir / "python_stdlib.zip", wheel, *shipped], pkg_dir, frozenset({wheel.name})
        )
        stored = store_zips(compiled)
        stdlib, wheel, shipped = stored[0], stored[1], stored[2:]
        write_lockfiles(pkg_dir / "pyodide-lock.json", [wheel, *shipped], test_only)
        lock = CACHE / "pyodide-lock.json"
        snapshot = (
            None
            if args.no_memory_snapshot
            else make_memory_snapshot(
                pkg_dir,
                stdlib,
                lock,
                [wheel, *shipped],
                sorted(json.loads(lock.read_text())["packages"]),
            )
        )

        keys_js = CACHE / "storage-keys.js"
        write_if_changed(keys_js, storage_keys_js(read_keys()))
        assemble_web(
            plan_web({"storage-keys.js": keys_js}, pkg_dir, stdlib, [wheel, *shipped], snapshot)
        )
        if test_only is not None:
            assemble_test_runtime([wheel, *shipped, *test_only])
    except BuildError as e:
        print(f"[build] error: {e}", file=sys.stderr, flush=True)
        return 1
    print(f"[build] done in {time.monotonic() - t0:.1f} s: dist/web is ready", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
