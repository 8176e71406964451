#!/usr/bin/env node
// Runs what the page runs, in Pyodide under node, and says which modules it could not import:
// boots a runtime the way web/progress-client.js does (packages pydantic and pyclient, then
// pyclient.bridge), imports every module of pyclient, reduces the golden vectors, validates and
// serialises the models, and drives the bridge (records, sign-in, a sync refused with a
// Retry-After date, a sync, sign-out) against
// web-API stand-ins (window, document, localStorage, navigator.locks, fetch answered by the fake
// server of tests/pyclient/fakes.py). tests/test_pyodide_stdlib.py runs it on the shipped
// runtime; run on the full standard library (and wheels not trimmed) it measures what the client
// imports, of the standard library and of each package.
//
//   node tests/pyodide_stdlib_check.mjs --runtime DIR [--stdlib ZIP] [--lock FILE]
//                                       [--probe MODULE] --out FILE
//
// DIR holds pyodide.mjs (and python_stdlib.zip unless --stdlib); the wheels sit beside the
// lockfile (default DIR/pyodide-lock.json). FILE gets JSON: {"failures": [{"step", "module",
// "error"}], "not_found": [names no finder found, even when the importer swallowed the
// ImportError], "stages": {stage: [modules in sys.modules]}, "origins": {module: file},
// "cached": {module: its bytecode file beside a source, when there is one},
// "imported_by": {module: the module that first imported it}, "vectors": n, "bridge_error":
// the traceback a Python error from the bridge carried into JS, "probe": {"module", "error",
// "not_found"}: once all that is recorded, MODULE imported as a page's code would, its error
// and the names no finder found meanwhile (how an import of a module the build dropped shows)}.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { keptStorage } from '../web/kept-storage.js'
import { settledFetch } from '../web/settled-fetch.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const opts = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1]
if (!opts.runtime || !opts.out) {
  console.error(
    'usage: pyodide_stdlib_check.mjs --runtime DIR [--stdlib ZIP] [--lock FILE] [--probe MODULE] --out FILE',
  )
  process.exit(2)
}
const runtimeDir = path.resolve(opts.runtime) + path.sep
const lockFile = path.resolve(opts.lock ?? path.join(runtimeDir, 'pyodide-lock.json'))
const wheelDir = path.dirname(lockFile) + path.sep

// ---------------------------------------------------------------- the page's web APIs
// Only what pyclient.bridge and pyclient.adapters.pyodide use; fetch is answered in Python.
let serve = null // (method, path, headersJson, bodyText) -> [status, headersJson, bodyText]
const ORIGIN = 'http://page.test'
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init)
  const url = new URL(request.url)
  if (url.origin !== ORIGIN) throw new TypeError(`pyodide_stdlib_check: no network (${url})`)
  if (serve === null) throw new TypeError('pyodide_stdlib_check: no server yet')
  const headers = JSON.stringify(Object.fromEntries(request.headers.entries()))
  const body = await request.text()
  const [status, outHeaders, outBody] = serve(request.method, url.pathname + url.search, headers, body).toJs()
  return new Response(outBody, { status, headers: JSON.parse(outHeaders) })
}
// The page's relative URLs resolve against its origin.
const NodeRequest = globalThis.Request
class PageRequest extends NodeRequest {
  constructor(input, init) {
    super(typeof input === 'string' ? new URL(input, ORIGIN) : input, init)
  }
}
class MemoryStorage {
  #items = new Map()
  get length() { return this.#items.size }
  key(i) { return [...this.#items.keys()][i] ?? null }
  getItem(k) { return this.#items.has(k) ? this.#items.get(k) : null }
  setItem(k, v) { this.#items.set(String(k), String(v)) }
  removeItem(k) { this.#items.delete(k) }
  clear() { this.#items.clear() }
}
class Locks {
  #tails = new Map()
  request(name, callback) {
    const prev = this.#tails.get(name) ?? Promise.resolve()
    const held = prev.then(() => callback({ name, mode: 'exclusive' }))
    this.#tails.set(name, held.catch(() => {}))
    return held
  }
}
// ---------------------------------------------------------------- boot, as the page does
// Installed as sitecustomize, so that it sees the boot's imports too (site runs it early).
const RECORDER = `
import sys
class _Record:
    """Last on sys.meta_path: every name no other finder found (also when the importer
    catches the ImportError and carries on without the module)."""
    not_found = []
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        cls.not_found.append(name)
        return None
class _Importers:
    """First on sys.meta_path: who imported each module first (the nearest frame outside the
    import system)."""
    by = {}
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in cls.by:
            frame = sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__", "").startswith(
                ("importlib._bootstrap", "_frozen_importlib")
            ):
                frame = frame.f_back
            cls.by[name] = frame.f_globals.get("__name__", "?") if frame is not None else "?"
        return None
sys.meta_path.insert(0, _Importers)
sys.meta_path.append(_Record)
`
const { loadPyodide } = await import(pathToFileURL(path.join(runtimeDir, 'pyodide.mjs')).href)
const loadErrors = []
const pyodide = await loadPyodide({
  indexURL: runtimeDir,
  ...(opts.stdlib ? { stdLibURL: path.resolve(opts.stdlib) } : {}),
  lockFileURL: lockFile,
  packageBaseUrl: wheelDir,
  packageCacheDir: wheelDir,
  stdout: (s) => process.stderr.write(s + '\n'),
  stderr: (s) => process.stderr.write(s + '\n'),
  fsInit: (FS, { sitePackages }) => FS.writeFile(`${sitePackages}/sitecustomize.py`, RECORDER),
})
// After the boot: emscripten takes a global `window` for a browser.
const win = new EventTarget()
const doc = new EventTarget()
doc.visibilityState = 'visible'
const define = (name, value) => Object.defineProperty(globalThis, name, { value, configurable: true, writable: true })
define('Request', PageRequest)
define('window', win)
define('document', doc)
define('localStorage', new MemoryStorage())
define('navigator', { onLine: true, locks: new Locks() })

pyodide.runPython('import sys, sitecustomize as _check\n_STAGES = {"boot": sorted(sys.modules)}')
// The page passes the packages to loadPyodide, then calls loadPackage again (a no-op): the same
// loader, called here after the boot so that the boot's modules are told apart.
for (let i = 0; i < 2; i++) {
  await pyodide.loadPackage(['pydantic', 'pyclient'], {
    messageCallback: () => {},
    errorCallback: (msg) => loadErrors.push(msg),
  })
}
if (loadErrors.length) {
  console.error('pyodide_stdlib_check: could not load the packages:\n' + loadErrors.join('\n'))
  process.exit(2)
}
pyodide.runPython('_STAGES["packages loaded"] = sorted(sys.modules)')
const failures = []
const failure = (step, e) => {
  const error = String(e?.message ?? e)
  return { step, module: error.match(/No module named '([^']+)'/)?.[1] ?? null, error }
}
let bridge = null
pyodide.registerJsModule('pyclient_js', { keptStorage, settledFetch }) // as web/progress-client.js does
try {
  bridge = pyodide.pyimport('pyclient.bridge')
} catch (e) {
  failures.push(failure('import pyclient.bridge', e))
}
pyodide.runPython('_STAGES["pyclient.bridge"] = sorted(sys.modules)')

// ---------------------------------------------------------------- the client's work
const vectors = {}
for (const f of fs.readdirSync(path.join(root, 'tests', 'vectors')).sort()) {
  if (f.endsWith('.json')) vectors[f] = fs.readFileSync(path.join(root, 'tests', 'vectors', f), 'utf8')
}
pyodide.FS.writeFile('/home/pyodide/fakes.py', fs.readFileSync(path.join(root, 'tests', 'pyclient', 'fakes.py')))
pyodide.globals.set('VECTORS', pyodide.toPy(vectors))
pyodide.globals.set('FAILURES', pyodide.toPy([]))
const steps = `
import json, os, sys

def _failed(step, exc):
    module = exc.name if isinstance(exc, ImportError) else None
    FAILURES.append({"step": step, "module": module, "error": f"{type(exc).__name__}: {exc}"})

# Every module of pyclient but the CPython adapters (urllib.request, tempfile), which the page
# never imports: the check below fails if it ever does.
CPYTHON_ONLY = {"pyclient.adapters.cpython"}
import importlib.util
top = importlib.util.find_spec("pyclient").submodule_search_locations[0]
base = os.path.dirname(top)
for dirpath, dirnames, filenames in os.walk(top):
    dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
    for f in sorted(filenames):
        if f.endswith(".py"):
            rel = os.path.relpath(os.path.join(dirpath, f), base)[:-3].replace(os.sep, ".")
            name = rel.removesuffix(".__init__")
            if name in CPYTHON_ONLY:
                continue
            try:
                __import__(name)
            except BaseException as exc:
                _failed(f"import {name}", exc)
_STAGES["every pyclient module"] = sorted(sys.modules)

try:
    from pyclient import canonical_json, dump_events, parse_events, reduce_events
    from pyclient.core.models import Event, LearningGuestProgress
    from pydantic import TypeAdapter, ValidationError
    for name, text in sorted(VECTORS.items()):
        vector = json.loads(text)
        events = parse_events(json.dumps(vector["events"]))
        snapshot = reduce_events(events)
        got = canonical_json(snapshot)
        if isinstance(vector.get("snapshot"), dict) and got != canonical_json(vector["snapshot"]):
            raise AssertionError(f"{name}: the snapshot differs from the vector's")
        again = LearningGuestProgress.model_validate_json(snapshot.model_dump_json(by_alias=True))
        if again != snapshot or parse_events(dump_events(events)) != events:
            raise AssertionError(f"{name}: a model does not survive a JSON round trip")
        TypeAdapter(list[Event]).validate_python(json.loads(dump_events(events)))
    for bad in ('[{"eventId": ""}]', '[{"type": "content.progressed", "payload": 1}]', "[", "{}"):
        try:
            parse_events(bad)
        except (ValidationError, ValueError) as exc:
            str(exc)  # the message a page would show
        else:
            raise AssertionError(f"{bad!r} was accepted")
except BaseException as exc:
    _failed("vectors and models", exc)
_STAGES["vectors and models"] = sorted(sys.modules)

try:
    from fakes import FakeServer, error_response, json_response
    _server = FakeServer()
    def _busy_once(request):
        """The first PUT is refused for a while, with Retry-After as an HTTP date."""
        if request.method == "PUT" and not _server.puts()[:-1]:
            return error_response(503, "busy", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
        return None
    _server.fail = _busy_once
    def _serve(method, url, headers_json, body):
        url = url.removeprefix("/api/v1")
        if url == "/auth/login":
            data = {"token": "token-u1", "userId": "u1", "expiresAt": None}
            response = json_response(200, {"ok": True, "data": data})
        else:
            headers = {k.title(): v for k, v in json.loads(headers_json).items()}  # fetch lowercases
            response = _server(method, url, headers, body.encode() or None)
        return [response.status, json.dumps(dict(response.headers)), response.body.decode()]
except BaseException as exc:
    _failed("the fake server", exc)
    _serve = None
`
try {
  await pyodide.runPythonAsync(steps)
} catch (e) {
  failures.push(failure('the client work', e))
}
const serveProxy = pyodide.globals.get('_serve')
if (serveProxy) serve = serveProxy

let bridgeError = null
if (bridge) {
  try {
    const driver = await bridge.start('/api/v1')
    let changes = 0
    driver.set_listener(() => { changes += 1 })
    driver.record_progress(JSON.stringify({ contentId: 'lesson-1', status: 'completed' }))
    driver.record_progress(JSON.stringify({ contentId: 'quiz-1', status: 'passed', score: 80, contentVersion: 'v2' }))
    driver.complete_onboarding('path-1')
    driver.set_active_path('path-1')
    JSON.parse(driver.snapshot_json())
    try {
      driver.record_progress(JSON.stringify({ contentId: '', status: 'nonsense' }))
    } catch (e) {
      bridgeError = String(e.message ?? e) // Pyodide formats the Python traceback for JS
    }
    await driver.sign_in('learner@example.com', 'secret')
    driver.record_progress(JSON.stringify({ contentId: 'lesson-2', status: 'in_progress' }))
    await driver.sync() // refused: 503 with a Retry-After date
    await driver.sync()
    win.dispatchEvent(Object.assign(new Event('storage'), { key: null }))
    win.dispatchEvent(new Event('offline'))
    win.dispatchEvent(new Event('online'))
    doc.dispatchEvent(new Event('visibilitychange'))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const status = JSON.parse(driver.status_json())
    if (status.userId !== 'u1') throw new Error(`signed in as ${status.userId}, not u1`)
    driver.sign_out()
    driver.reset_onboarding()
    driver.reset_progress()
    driver.refresh_cache()
    driver.close()
    if (!changes) throw new Error('the listener was never called')
  } catch (e) {
    failures.push(failure('drive pyclient.bridge', e))
  }
}

pyodide.globals.set('PROBE', opts.probe ?? null)
const result = pyodide.runPython(`
_STAGES["bridge driven"] = sorted(sys.modules)
sent = [e["payload"].get("contentId") for e in _server.events.get("u1", [])] if _serve else []
if "lesson-2" not in sent:
    FAILURES.append({"step": "drive pyclient.bridge", "module": None,
                     "error": f"the sync did not reach the server (it holds {sent})"})
if "pyclient.adapters.cpython" in sys.modules:
    FAILURES.append({"step": "page work", "module": "pyclient.adapters.cpython",
                     "error": "the page imported the CPython adapters"})
origins, cached = {}, {}
for name, module in sorted(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    origins[name] = getattr(spec, "origin", None) if spec is not None else None
    if getattr(spec, "cached", None) and os.path.exists(spec.cached):
        cached[name] = spec.cached
not_found = sorted(set(_check._Record.not_found))
probe = None
if PROBE:
    seen = len(_check._Record.not_found)
    try:
        __import__(PROBE)
        error = None
    except ImportError as exc:
        error = f"{type(exc).__name__}: {exc}"
    probe = {"module": PROBE, "error": error, "not_found": sorted(set(_check._Record.not_found[seen:]))}
json.dumps({"stages": _STAGES, "origins": origins, "cached": cached, "not_found": not_found,
            "imported_by": _check._Importers.by, "probe": probe,
            "vectors": len(VECTORS), "python": sys.version})
`)
const out = JSON.parse(result)
out.failures = [...failures, ...pyodide.globals.get('FAILURES').toJs({ dict_converter: Object.fromEntries })]
out.bridge_error = bridgeError
fs.writeFileSync(path.resolve(opts.out), JSON.stringify(out, null, 1))
for (const f of out.failures) console.error(`pyodide_stdlib_check: ${f.step}: ${f.error}`)
process.exit(0)
