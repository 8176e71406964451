"""Page loads of the learning page in system Chromium, booted normally and from the build's
memory snapshot, beside a bare Pyodide page.

    .venv/bin/python bench/page_load.py [--runs 5] [--sizes 0,10000,50000]

For each stored-log size the page is loaded two ways, each from its own origin: as built (it
boots from the memory snapshot, web/python-boot.js) and with build-files.js (and the page's
bundle, which holds it) naming no snapshot (the normal boot: the runtime, the wheels installed,
the imports). Each is timed
  cold   a fresh browser context (no HTTP cache, no compiled wasm cache, no service worker):
         the log and a matching snapshot cache are put in localStorage from a blank page of the
         same origin, then the page is loaded;
  warm   the same context loaded again once the first load is ready and its service worker (the
         page registers one when idle) is active: a returning learner.
Times from navigation start:
  cached paint   the cached snapshot is on screen (max of the inline script's mark and FCP)
  pyodide ready  Pyodide is up with the packages (restored, or booted and installed)
  client ready   pyclient loaded, the log reduced, the recomputed snapshot rendered
Two bare pages only run loadPyodide(), cold and warm likewise: one with this dist's runtime
(whose standard library build.py ships precompiled), one with the npm package's runtime as it
comes (sources only, so every boot compiles what it imports). Runs are interleaved. Medians;
ratios are medians over rounds of client ready / bare ready in the same round and state.
Also printed: what the snapshot adds to a first visit's download (its files' brotli sizes: the
service worker precaches them whichever boot the page took).
Targets: cached paint <= 150 ms; client ready <= 1.25 x bare boot at 10k events (normal boot);
booted from the snapshot, warm: client ready <= 1.0 x bare boot.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from static_server import StaticServer  # noqa: E402

from bench.client_storage import client_storage  # noqa: E402
from bench.reducer_workload import synthetic_events  # noqa: E402
from buildsteps.bundle import PAGE_BUNDLE  # noqa: E402
from e2e.chromium import CHROMIUM_ARGS, chromium_path  # noqa: E402
from pyclient import parse_events  # noqa: E402

BARE = """<!doctype html><meta charset="utf-8"><title>bare Pyodide</title>
<script type="module" src="SCRIPT"></script>"""
# The bare page's script (a file, so that the page's Content-Security-Policy holds for it too).
BARE_JS = """const { loadPyodide } = await import('./RUNTIME/pyodide.mjs')
await loadPyodide({
  indexURL: new URL('./RUNTIME/', location.href).href,
  lockFileURL: new URL('./LOCKFILE', location.href).href,
})
performance.mark('bare-ready')
document.documentElement.dataset.bareReady = 'true'
"""
STOCK_FILES = {
    "pyodide.mjs": "text/javascript",
    "pyodide.asm.mjs": "text/javascript",
    "pyodide.asm.wasm": "application/wasm",
    "python_stdlib.zip": "application/zip",
    "pyodide-lock.json": "application/json",
}
BLANK = b"<!doctype html><meta charset='utf-8'><title>seed</title>"
METRICS_JS = """() => {
  const mark = (n) => {
    const e = performance.getEntriesByName(n)
    return e.length ? e[0].startTime : null
  }
  const fcp = mark('first-contentful-paint')
  const cached = mark('progress-cached-paint')
  return {
    cached_paint: cached === null ? null : Math.max(cached, fcp ?? 0),
    pyodide_ready: mark('pyodide-ready'),
    client_ready: mark('progress-ready'),
    bare_ready: mark('bare-ready'),
    boot: document.documentElement.dataset.pyodideBoot || null,
  }
}"""


def storage_for(count: int) -> dict[str, str]:
    if count == 0:
        return {}
    events = parse_events(json.dumps(synthetic_events(count)))
    return client_storage(events, None, "bench-client")  # stored as the client stores them


def _load(page: Any, url: str, ready: str) -> None:
    page.goto(url)
    page.wait_for_function(ready, timeout=120_000)
    err = page.evaluate("document.documentElement.dataset.progressError || null")
    if err:
        raise RuntimeError(f"page failed: {err}")


def one_load(
    browser: Any, base: str, storage: dict[str, str] | str, warm: bool = False
) -> dict[str, Any]:
    """A load's marks: cold in a fresh context, or `warm`: that context's second load."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        if isinstance(storage, str):  # a bare page
            url, ready = base + storage, READY_BARE
        else:
            page.goto(base + "bench-blank.html")
            page.evaluate(
                "(items) => { localStorage.clear();"
                " for (const [k, v] of Object.entries(items)) localStorage.setItem(k, v) }",
                storage,
            )
            url, ready = base, READY_PAGE
        _load(page, url, ready)
        if warm:
            if not isinstance(storage, str):
                page.wait_for_function(SW_ACTIVE, timeout=120_000)
            _load(page, url, ready)
        metrics: dict[str, Any] = page.evaluate(METRICS_JS)
        return metrics
    finally:
        ctx.close()


READY_BARE = "() => document.documentElement.dataset.bareReady === 'true'"
READY_PAGE = (
    "() => document.documentElement.dataset.progressReady === 'true'"
    " || !!document.documentElement.dataset.progressError"
)
# the page registers its service worker once idle after ready; a warm load comes after it is
# active and has precached the build (its install precaches; clientsClaim makes it control)
SW_ACTIVE = "() => !!navigator.serviceWorker.controller"


def _no_snapshot(web: Path, rel: str) -> bytes:
    """A module of the build (build-files.js, or the page's bundle holding it) naming no memory
    snapshot: the page boots normally."""
    text = (web / rel).read_text()
    text, n = re.subn(
        r"^(export const|var) SNAPSHOT_DIR = .*$", r"\1 SNAPSHOT_DIR = null", text, flags=re.M
    )
    assert n == 1, f"{rel} names no SNAPSHOT_DIR"
    return text.encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="0,10000,50000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    build = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--no-test-runtime"], check=False
    )
    if build.returncode != 0:
        return 1
    from playwright.sync_api import sync_playwright

    stores = {n: storage_for(n) for n in sizes}
    web = ROOT / "dist" / "web"
    stock_dir = ROOT / "web" / "node_modules" / "pyodide"
    build_json = json.loads((web / "build.json").read_text())
    if not build_json.get("memorySnapshot"):
        print("this build has no memory snapshot", file=sys.stderr)
        return 1
    js = "text/javascript"
    extra = {
        "/bench-bare.html": ("text/html", BARE.replace("SCRIPT", "bench-bare.js").encode()),
        "/bench-bare.js": (
            js,
            BARE_JS.replace("RUNTIME", build_json["runtime"])
            .replace("LOCKFILE", build_json["lockfile"])
            .encode(),
        ),
        "/bench-stock.html": ("text/html", BARE.replace("SCRIPT", "bench-stock.js").encode()),
        "/bench-stock.js": (
            js,
            BARE_JS.replace("RUNTIME", "bench-stock")
            .replace("LOCKFILE", "bench-stock/pyodide-lock.json")
            .encode(),
        ),
        "/bench-blank.html": ("text/html", BLANK),
        **{
            f"/bench-stock/{name}": (ctype, (stock_dir / name).read_bytes())
            for name, ctype in STOCK_FILES.items()
        },
    }
    normal_extra = {
        **extra,
        **{
            f"/{build_json['app']}/{name}": (js, _no_snapshot(web, f"{build_json['app']}/{name}"))
            for name in ("build-files.js", PAGE_BUNDLE)
        },
    }
    kinds = [(boot, state) for boot in ("normal", "snapshot") for state in ("cold", "warm")]
    results: dict[str, list[dict[str, Any]]] = {
        f"{bare} {state}": [] for bare in ("bare", "stock") for state in ("cold", "warm")
    }
    results.update({f"{n} {boot} {state}": [] for n in sizes for boot, state in kinds})
    with (
        StaticServer(web, extra=extra) as srv,
        StaticServer(web, extra=normal_extra) as normal_srv,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        one_load(browser, srv.url, "bench-bare.html")  # warm the OS file cache once
        one_load(browser, srv.url, stores[sizes[0]])
        for run in range(args.runs):
            for state in ("cold", "warm"):
                warm = state == "warm"
                for which, page in (("bare", "bench-bare.html"), ("stock", "bench-stock.html")):
                    results[f"{which} {state}"].append(one_load(browser, srv.url, page, warm))
                for n in sizes:
                    for boot, base in (("normal", normal_srv.url), ("snapshot", srv.url)):
                        row = one_load(browser, base, stores[n], warm)
                        if row["boot"] != boot:
                            raise RuntimeError(f"{n} {boot} {state}: the page booted {row['boot']}")
                        results[f"{n} {boot} {state}"].append(row)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
        browser.close()

    def med(rows: list[dict[str, Any]], key: str) -> float:
        values = [r[key] for r in rows if r.get(key) is not None]
        assert values, key
        return float(statistics.median(values))

    def paired_ratio(key: str, baseline: str) -> float:
        # each round loads the bare pages and every size back to back: the per-round ratio
        # cancels most of the machine's load drift between rounds
        pairs = zip(results[key], results[baseline], strict=True)
        return float(statistics.median(r["client_ready"] / b["bare_ready"] for r, b in pairs))

    print(f"\nPage loads, medians of {args.runs} (ms from navigation start), Chromium, 2 cores")
    head = (
        f"{'stored events':>13} | {'boot':>8} | {'state':>5} | {'cached paint':>12} | "
        f"{'pyodide ready':>13} | {'client ready':>12} | {'ready / bare':>12} | "
        f"{'ready / stock':>13}"
    )
    print(head)
    print("-" * len(head))
    for state in ("cold", "warm"):
        bare, stock = (
            med(results[f"bare {state}"], "bare_ready"),
            med(results[f"stock {state}"], "bare_ready"),
        )
        print(
            f"{'bare':>13} | {'this dist':>8} | {state:>5} | {'-':>12} | {bare:13.0f} | "
            f"{'-':>12} | {'1.00':>12} | {bare / stock:13.2f}"
        )
        print(
            f"{'bare':>13} | {'npm':>8} | {state:>5} | {'-':>12} | {stock:13.0f} | "
            f"{'-':>12} | {stock / bare:12.2f} | {'1.00':>13}"
        )
    verdicts = []
    ratios: dict[str, float] = {}
    for n in sizes:
        for boot, state in kinds:
            key = f"{n} {boot} {state}"
            rows = results[key]
            paint, py, ready = (
                med(rows, "cached_paint"),
                med(rows, "pyodide_ready"),
                med(rows, "client_ready"),
            )
            ratio = ratios[key] = paired_ratio(key, f"bare {state}")
            ratio_stock = paired_ratio(key, f"stock {state}")
            print(
                f"{n:>13,} | {boot:>8} | {state:>5} | {paint:12.0f} | {py:13.0f} | {ready:12.0f} | "
                f"{ratio:12.2f} | {ratio_stock:13.2f}"
            )
            if boot == "normal" and state == "cold":
                verdicts.append(
                    f"cached paint at {n:,} events: {paint:.0f} ms "
                    f"({'met' if paint <= 150 else 'NOT met'}: <= 150 ms)"
                )
    print("(ratios: median over rounds of client ready / bare ready in the same round and state)")
    for n in sizes:
        if n == 10_000:
            r = ratios[f"{n} normal cold"]
            verdicts.append(
                f"client ready at {n:,} events, normal boot, cold: {r:.2f} x a bare boot "
                f"({'met' if r <= 1.25 else 'NOT met'}: <= 1.25 x)"
            )
        for state in ("cold", "warm"):
            r = ratios[f"{n} snapshot {state}"]
            before = ratios[f"{n} normal {state}"]
            target = f" ({'met' if r <= 1.0 else 'NOT met'}: <= 1.0 x)" if state == "warm" else ""
            verdicts.append(
                f"client ready at {n:,} events from the snapshot, {state}: {r:.2f} x a bare boot"
                f"{target}, normal boot {before:.2f} x"
            )
    snap = build_json["memorySnapshot"]
    sizes_br = {
        rel: f.get("br", f["identity"])
        for rel, f in build_json["files"].items()
        if rel.startswith(snap + "/")
    }
    total = sum(sizes_br.values())
    parts = ", ".join(
        f"{rel.split('/')[-1]} {b / 1e6:.2f} MB" for rel, b in sorted(sizes_br.items())
    )
    verdicts.append(f"a first visit downloads {total / 1e6:.2f} MB more, brotli ({parts})")
    print()
    for v in verdicts:
        print(v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
