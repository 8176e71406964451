"""Cold page loads of the learning page in system Chromium, beside a bare Pyodide page.

    .venv/bin/python bench/page_load.py [--runs 5] [--sizes 0,1000,10000]

For each stored-log size, every run uses a fresh browser context (no HTTP cache, no compiled
wasm cache): the log and a matching snapshot cache are put in localStorage from a blank page of
the same origin, then the page is loaded and timed from navigation start:
  cached paint   the cached snapshot is on screen (max of the inline script's mark and FCP)
  pyodide ready  loadPyodide() resolved (the page has it fetch and install its wheels too)
  client ready   pyclient loaded, the log reduced, the recomputed snapshot rendered
Two bare pages only run loadPyodide(): one with this dist's runtime (whose standard library
build.py ships precompiled), one with the npm package's runtime as it comes (sources only, so
every boot compiles what it imports). Runs are interleaved. Medians.
Targets: cached paint <= 150 ms; client ready <= 1.25 x bare boot at 10k events.
"""

from __future__ import annotations

import argparse
import json
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
  }
}"""


def storage_for(count: int) -> dict[str, str]:
    if count == 0:
        return {}
    events = parse_events(json.dumps(synthetic_events(count)))
    return client_storage(events, None, "bench-client")  # stored as the client stores them


def one_load(browser: Any, base: str, storage: dict[str, str] | str) -> dict[str, float]:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        if isinstance(storage, str):  # a bare page
            page.goto(base + storage)
            page.wait_for_function(
                "() => document.documentElement.dataset.bareReady === 'true'", timeout=120_000
            )
        else:
            page.goto(base + "bench-blank.html")
            page.evaluate(
                "(items) => { localStorage.clear();"
                " for (const [k, v] of Object.entries(items)) localStorage.setItem(k, v) }",
                storage,
            )
            page.goto(base)
            page.wait_for_function(
                "() => document.documentElement.dataset.progressReady === 'true'"
                " || !!document.documentElement.dataset.progressError",
                timeout=120_000,
            )
            err = page.evaluate("document.documentElement.dataset.progressError || null")
            if err:
                raise RuntimeError(f"page failed: {err}")
        metrics: dict[str, float] = page.evaluate(METRICS_JS)
        return metrics
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="0,1000,10000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    build = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--no-test-runtime"], check=False
    )
    if build.returncode != 0:
        return 1
    from playwright.sync_api import sync_playwright

    stores = {n: storage_for(n) for n in sizes}
    results: dict[str, list[dict[str, float]]] = {
        "bare": [],
        "stock": [],
        **{str(n): [] for n in sizes},
    }
    stock_dir = ROOT / "web" / "node_modules" / "pyodide"
    build_json = json.loads((ROOT / "dist" / "web" / "build.json").read_text())
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
    with StaticServer(ROOT / "dist" / "web", extra=extra) as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        one_load(browser, srv.url, "bench-bare.html")  # warm the OS file cache once
        for run in range(args.runs):
            results["bare"].append(one_load(browser, srv.url, "bench-bare.html"))
            results["stock"].append(one_load(browser, srv.url, "bench-stock.html"))
            for n in sizes:
                results[str(n)].append(one_load(browser, srv.url, stores[n]))
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
        browser.close()

    def med(rows: list[dict[str, float]], key: str) -> float | None:
        values = [r[key] for r in rows if r.get(key) is not None]
        return statistics.median(values) if values else None

    bare = med(results["bare"], "bare_ready")
    assert bare is not None

    stock = med(results["stock"], "bare_ready")
    assert stock is not None

    def paired_ratio(n: int, baseline: str = "bare") -> float:
        # each round loads the bare pages and every size back to back: the per-round ratio
        # cancels most of the machine's load drift between rounds
        pairs = zip(results[str(n)], results[baseline], strict=True)
        return statistics.median(r["client_ready"] / b["bare_ready"] for r, b in pairs)

    print(f"\nCold loads, medians of {args.runs} (ms from navigation start), Chromium, 2 cores")
    print(
        f"{'stored events':>15} | {'cached paint':>12} | {'pyodide ready':>13} | "
        f"{'client ready':>12} | {'ready / bare':>12} | {'ready / stock':>13}"
    )
    print("-" * 93)
    print(
        f"{'bare, this dist':>15} | {'-':>12} | {bare:13.0f} | {'-':>12} | {'1.00':>12} | "
        f"{bare / stock:13.2f}"
    )
    print(
        f"{'bare, npm as is':>15} | {'-':>12} | {stock:13.0f} | {'-':>12} | "
        f"{stock / bare:12.2f} | {'1.00':>13}"
    )
    verdicts = []
    for n in sizes:
        rows = results[str(n)]
        paint, py, ready = (
            med(rows, "cached_paint"),
            med(rows, "pyodide_ready"),
            med(rows, "client_ready"),
        )
        assert paint is not None and py is not None and ready is not None
        ratio, ratio_stock = paired_ratio(n), paired_ratio(n, "stock")
        print(
            f"{n:>15,} | {paint:12.0f} | {py:13.0f} | {ready:12.0f} | {ratio:12.2f} | "
            f"{ratio_stock:13.2f}"
        )
        verdicts.append(
            f"cached paint at {n:,} events: {paint:.0f} ms "
            f"({'met' if paint <= 150 else 'NOT met'}: <= 150 ms)"
        )
        if n == max(sizes):
            verdicts.append(
                f"client ready at {n:,} events: {ratio:.2f} x a bare boot of this dist's runtime "
                f"({'met' if ratio <= 1.25 else 'NOT met'}: <= 1.25 x), {ratio_stock:.2f} x a "
                f"bare boot of the npm runtime as it comes "
                f"({'met' if ratio_stock <= 1.25 else 'NOT met'})"
            )
    print("(ratios: median over rounds of client ready / bare ready in the same round)")
    print()
    for v in verdicts:
        print(v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
