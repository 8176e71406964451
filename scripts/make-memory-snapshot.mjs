#!/usr/bin/env node
// Makes the page's Pyodide memory snapshot (web/memory-snapshot.js says what it is and how it
// is restored): boots the runtime in Node, lays it out with the shipped wheels, imports the
// given modules, and writes the heap and its metadata. Run by buildsteps/memory_snapshot.py
// with TZ=UTC, so that none of the build machine's time zone is frozen into the heap.
//
//   node scripts/make-memory-snapshot.mjs RUNTIME_DIR STDLIB_ZIP LOCKFILE OUT_DIR \
//        --wheel W.whl ... --import module ... --package name ...
//
// Writes OUT_DIR/heap.bin and OUT_DIR/meta.json. (The C library's zone is set again on every
// restore; UTC keeps the build machine's out of what Python computed from it at its start.)
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { snapshotRuntime } = await import(pathToFileURL(path.join(root, 'web', 'memory-snapshot.js')).href)
const { SNAPSHOT_FORMAT, sha256Hex, snapshotHeader, sparseSnapshot } = await import(
  pathToFileURL(path.join(root, 'web', 'snapshot-files.js')).href
)

const [runtimeDir, stdlib, lockfile, outDir, ...rest] = process.argv.slice(2)
const wheelPaths = []
const imports = []
const packages = []
for (let i = 0; i < rest.length; i += 2) {
  const list = { '--wheel': wheelPaths, '--import': imports, '--package': packages }[rest[i]]
  if (!list || rest[i + 1] === undefined) {
    console.error(`make-memory-snapshot: unexpected argument ${rest[i]}`)
    process.exit(2)
  }
  list.push(rest[i + 1])
}
if (process.env.TZ !== 'UTC') {
  console.error('make-memory-snapshot: run with TZ=UTC (the heap keeps the time zone it was made in)')
  process.exit(2)
}
// Nothing may come from the network.
globalThis.fetch = ((realFetch) => async (url, ...args) => {
  const u = String(url instanceof Request ? url.url : url)
  if (/^https?:/i.test(u)) throw new Error(`make-memory-snapshot: refusing network fetch of ${u}`)
  return realFetch(url, ...args)
})(globalThis.fetch)

const runtimeDirAbs = path.resolve(runtimeDir) + path.sep
const runtimeURL = pathToFileURL(runtimeDirAbs)
const wheels = wheelPaths.map((p) => new Uint8Array(fs.readFileSync(p)))
// hashed as read: laid out, their bytes are the files' storage in the runtime's file system
const wheelDigests = await Promise.all(wheels.map(sha256Hex))
const runtime = snapshotRuntime({ asmURL: new URL('pyodide.asm.mjs', runtimeURL).href, files: { wheels } })
const { loadPyodide } = await import(new URL('pyodide.mjs', runtimeURL).href)
const t0 = performance.now()
const pyodide = await runtime.boot(loadPyodide, {
  indexURL: runtimeDirAbs,
  stdLibURL: path.resolve(stdlib),
  lockFileURL: path.resolve(lockfile), // read, never used: the wheels are installed above
  // what a browser's boot has (Emscripten: the program's name, also in the environment as `_`),
  // not this script's path
  _sysExecutable: './this.program',
  _makeSnapshot: true,
})
const layout = await runtime.layout
// the page's runtime never switches stacks (web/runtime-module.js): nor may the one it is made in
if (pyodide._module.jspiSupported !== false) {
  throw new Error('this Node runs WebAssembly stack switching (JSPI), which the page turns off: make the snapshot with a Node without it')
}
// gc.freeze(): what the imports made lives as long as the page, so the restored interpreter's
// cyclic collector never scans it (Python 3.14's incremental collector would, in the first
// collections after the restore; freezing it in the page instead walks all of it once).
pyodide.runPython(`
import gc, importlib
for name in ${JSON.stringify(imports)}:
    importlib.import_module(name)
del name
gc.collect()
gc.freeze()
`)
const heap = sparseSnapshot(pyodide.makeMemorySnapshot())
const { heapBytes } = snapshotHeader(heap)
const { format, buildId, sitePackages, tableBase, libs, engineEntries } = layout
if (format !== SNAPSHOT_FORMAT) throw new Error('format mismatch')
const meta = {
  format,
  pyodide: pyodide.version,
  buildId,
  sitePackages,
  tableBase,
  libs,
  heap: { size: heap.byteLength, sha256: await sha256Hex(heap), memory: heapBytes },
  wheels: wheelPaths.map((p, i) => ({ name: path.basename(p), sha256: wheelDigests[i] })),
  packages,
  imports,
  made: { engine: `Node.js ${process.version}`, tableEntries: engineEntries, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone },
}
fs.mkdirSync(outDir, { recursive: true })
fs.writeFileSync(path.join(outDir, 'heap.bin'), heap)
fs.writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n')
console.log(
  `make-memory-snapshot: ${(heapBytes / 1e6).toFixed(1)} MB heap (${(heap.byteLength / 1e6).toFixed(1)} MB stored), ${libs.length} libraries at table base ${tableBase}, ` +
    `${imports.length} modules imported, in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
)
process.exit(0)
