#!/usr/bin/env node
// Runs the pyclient core tests and the golden vectors inside Pyodide (node runtime), with the
// very runtime and wheels that build.py put in dist/ (the runtime directory dist/web/build.json
// names, dist/pyodide-test for the wheels plus pytest and hypothesis).
//
//   node scripts/pyodide-tests.mjs [--memory-snapshot [--state-only]] [--out result.json] [-- extra pytest args]
//
// Exit status: pytest's. With --out, writes {"pytest_exit": n, "vectors": {name: canonical},
// "boot": ..., "state": {...}} where `canonical` is
// canonical_json(reduce_events(parse_events(json.dumps(vector["events"])))) and `state` what
// Python holds right after the boot (time zone, LANG, a random number, whether pyclient was
// already imported, how many objects the cyclic collector leaves alone: gc.freeze).
// tests/test_pyodide_runtime.py runs this and compares the vectors with CPython byte for byte.
//
// --memory-snapshot: boot as the page does when it can, by restoring the dist's memory snapshot
// (web/memory-snapshot.js) instead of booting and installing the wheels; pytest and hypothesis
// are then installed on top, and the npm package's whole standard library is put after the
// shipped one on sys.path (the restored interpreter already knows the shipped one's contents).
// --state-only: only the state, no tests. --language de-DE: a browser's navigator.language.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
let outFile = null
let fromSnapshot = false
let stateOnly = false
let language = null
const pytestArgs = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') outFile = path.resolve(args[++i])
  else if (args[i] === '--memory-snapshot') fromSnapshot = true
  else if (args[i] === '--state-only') stateOnly = true
  else if (args[i] === '--language') language = args[++i]
  else if (args[i] === '--') pytestArgs.push(...args.slice(i + 1)), (i = args.length)
  else pytestArgs.push(args[i])
}

// Nothing may come from the network: every package is in dist/pyodide-test.
const realFetch = globalThis.fetch
globalThis.fetch = async (url, ...rest) => {
  const u = String(url instanceof Request ? url.url : url)
  if (/^https?:/i.test(u)) throw new Error(`pyodide-tests: refusing network fetch of ${u}`)
  return realFetch(url, ...rest)
}

const buildJson = path.join(root, 'dist', 'web', 'build.json')
if (!fs.existsSync(buildJson)) {
  console.error('pyodide-tests: dist/web/build.json is missing: run build.py first.')
  process.exit(2)
}
const build = JSON.parse(fs.readFileSync(buildJson, 'utf8'))
const runtimeDir = path.join(root, 'dist', 'web', build.runtime) + path.sep
const testDist = path.join(root, 'dist', 'pyodide-test') + path.sep
for (const p of [path.join(runtimeDir, 'pyodide.mjs'), path.join(testDist, 'pyodide-lock.json')]) {
  if (!fs.existsSync(p)) {
    console.error(`pyodide-tests: ${path.relative(root, p)} is missing: run build.py first.`)
    process.exit(2)
  }
}
// The page ships a standard library cut down to what the client imports; pytest and hypothesis
// need more, so the tests run on the npm package's whole library.
// as a browser would have it (Node 20 has no navigator), for LANG
if (language) globalThis.navigator = { language, languages: [language], userAgent: `Node.js ${process.version}` }
const fullStdlib = path.join(root, 'web', 'node_modules', 'pyodide', 'python_stdlib.zip')
const options = {
  indexURL: runtimeDir,
  lockFileURL: path.join(testDist, 'pyodide-lock.json'),
  packageBaseUrl: testDist,
  packageCacheDir: testDist,
  _sysExecutable: './this.program', // as in a browser (and in the snapshot), not this script
  stdout: (s) => process.stdout.write(s + '\n'),
  stderr: (s) => process.stderr.write(s + '\n'),
}

const { loadPyodide } = await import(pathToFileURL(path.join(runtimeDir, 'pyodide.mjs')).href)
const t0 = performance.now()
let pyodide
if (fromSnapshot) {
  if (!build.memorySnapshot) {
    console.error('pyodide-tests: this build has no memory snapshot (dist/web/build.json).')
    process.exit(2)
  }
  const { restoreFromSnapshot } = await import(pathToFileURL(path.join(root, 'web', 'memory-snapshot.js')).href)
  const snapshotDir = path.join(root, 'dist', 'web', build.memorySnapshot)
  const meta = JSON.parse(fs.readFileSync(path.join(snapshotDir, 'meta.json'), 'utf8'))
  const read = (p) => new Uint8Array(fs.readFileSync(p))
  pyodide = await restoreFromSnapshot({
    loadPyodide,
    asmURL: pathToFileURL(path.join(runtimeDir, 'pyodide.asm.mjs')).href,
    heap: read(path.join(snapshotDir, meta.heap.file)),
    meta,
    wheels: meta.wheels.map((w) => read(path.join(root, 'dist', 'web', build.packages, w.file))),
    timeoutMs: 60_000,
    options,
  })
  pyodide.FS.writeFile('/lib/python-full-stdlib.zip', fs.readFileSync(fullStdlib))
  pyodide.runPython(`
import sys
def _whole_stdlib(full="/lib/python-full-stdlib.zip", shipped="/lib/python314.zip"):
    sys.path.append(full)
    for module in list(sys.modules.values()):  # packages imported before: their other modules
        paths = getattr(module, "__path__", None)
        if isinstance(paths, list):
            paths += [p.replace(shipped, full, 1) for p in paths if p.startswith(shipped + "/")]
_whole_stdlib()
del _whole_stdlib
`)
} else {
  pyodide = await loadPyodide({ ...options, stdLibURL: fullStdlib })
}
const state = JSON.parse(
  pyodide.runPython(`
import gc, json, os, random, sys, time
json.dumps({
    "preimported": "pyclient.worker" in sys.modules and "pydantic" in sys.modules,
    "timezone": [time.timezone, time.altzone, time.daylight, list(time.tzname)],
    "zone": [time.localtime(0).tm_zone, time.strftime("%Z", time.localtime(0))],
    "lang": os.environ.get("LANG"),
    "environ": dict(os.environ),
    "executable": sys.executable,
    "random": random.random(),
    "frozen": gc.get_freeze_count(),
})
`),
)
if (stateOnly) {
  const out = JSON.stringify({ boot: fromSnapshot ? 'snapshot' : 'normal', state })
  if (outFile) fs.writeFileSync(outFile, out)
  else console.log(out)
  process.exit(0)
}
const loadErrors = []
await pyodide.loadPackage(['pydantic', 'pyclient', 'pytest', 'hypothesis'], {
  messageCallback: () => {},
  errorCallback: (msg) => loadErrors.push(msg),
})
if (loadErrors.length) {
  console.error('pyodide-tests: could not load packages:\n' + loadErrors.join('\n'))
  process.exit(2)
}
pyodide.setStdout({ write: (buf) => (process.stdout.write(buf), buf.length) })
pyodide.setStderr({ write: (buf) => (process.stderr.write(buf), buf.length) })
console.log(`pyodide-tests: Pyodide ${pyodide.version} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

// Copy the core tests, the vectors and the pytest settings into the in-memory FS (not a
// mount: pytest and hypothesis write caches and must not touch the work tree).
const project = '/home/pyodide/project'
const copy = (rel) => {
  const src = path.join(root, rel)
  if (!fs.existsSync(src)) return
  const st = fs.statSync(src)
  if (st.isDirectory()) {
    if (path.basename(src) === '__pycache__') return
    pyodide.FS.mkdirTree(path.posix.join(project, rel.split(path.sep).join('/')))
    for (const name of fs.readdirSync(src).sort()) copy(path.join(rel, name))
  } else {
    const dest = path.posix.join(project, rel.split(path.sep).join('/'))
    pyodide.FS.mkdirTree(path.posix.dirname(dest))
    pyodide.FS.writeFile(dest, fs.readFileSync(src))
  }
}
pyodide.FS.mkdirTree(project)
for (const rel of ['pyproject.toml', 'tests/__init__.py', 'tests/pyclient', 'tests/vectors']) copy(rel)
// A pytest plugin (loaded with -p) that lifts hypothesis' per-example deadline: Pyodide is
// 3-5x slower than CPython. It imports hypothesis only once pytest is configured.
pyodide.FS.writeFile('/home/pyodide/_pyodide_profile.py', `
def pytest_configure(config):
    from hypothesis import settings
    settings.register_profile("pyodide", deadline=None)
    settings.load_profile("pyodide")
`)

pyodide.globals.set('PYTEST_ARGS', pyodide.toPy(pytestArgs))
let result
try {
  result = await pyodide.runPythonAsync(`
import glob, json, os, sys
os.chdir(${JSON.stringify(project)})
sys.path[:0] = [${JSON.stringify(project)}, "/home/pyodide"]
import pytest
exit_code = 5
if glob.glob("tests/pyclient/**/test_*.py", recursive=True):
    exit_code = int(pytest.main(
        ["-p", "no:cacheprovider", "-p", "_pyodide_profile", "tests/pyclient", *PYTEST_ARGS]
    ))
else:
    print("pyodide-tests: no tests under tests/pyclient")
from pyclient import canonical_json, parse_events, reduce_events
vectors = {}
for f in sorted(glob.glob("tests/vectors/*.json")):
    with open(f, encoding="utf-8") as fh:
        vector = json.load(fh)
    events_text = json.dumps(vector["events"])
    vectors[os.path.basename(f)] = canonical_json(reduce_events(parse_events(events_text)))
print(f"pyodide-tests: {len(vectors)} vectors reduced in Pyodide ({sys.version.split()[0]})")
json.dumps({"pytest_exit": exit_code, "vectors": vectors, "python": sys.version})
`)
  result = JSON.stringify({ ...JSON.parse(result), boot: fromSnapshot ? 'snapshot' : 'normal', state })
} catch (e) {
  console.error(`pyodide-tests: Python failed inside Pyodide:\n${e.message}`)
  process.exit(3)
}
if (outFile) fs.writeFileSync(outFile, result)
const { pytest_exit: code } = JSON.parse(result)
process.exit(code === 5 ? 0 : code)
