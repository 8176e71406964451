// Pyodide from a memory snapshot: the Wasm heap as it was at build time, after the page's
// packages were installed and pydantic and pyclient imported (scripts/make-memory-snapshot.mjs
// makes it in Node; buildsteps/memory_snapshot.py ships it). Restoring it skips Python's start,
// the wheels' installation and the imports. The same code makes and restores, in Node and in
// browsers, so that both runs lay the runtime out alike.
//
// It leans on Pyodide's private snapshot API (loadPyodide's _makeSnapshot / _loadSnapshot) and
// on Emscripten internals of the pinned runtime, and fills the gaps that API leaves for a heap
// holding packages:
//   - the file system is not in the heap: site-packages is written again from the very wheels
//     (stored zips) the normal boot installs, before the C runtime starts;
//   - the runtime's linking is ./runtime-table.js's: the same table slots on every engine, and
//     the JS functions the C code takes the address of made Wasm functions in one module;
//   - the heap points into pydantic_core's .so (its data, its function table slots): every .so
//     is loaded in that same early hook, where memory is a deterministic bump, after the
//     function table is padded to a fixed base (engines add a trampoline to it or not);
//   - the heap is bigger than the memory the runtime starts with: grown before the copy;
//   - CPython's call trampoline is this engine's, written back after the copy;
//   - slot 6 of the JS references stays the live `pyodide.loadedPackages` in both runs.
// Anything unexpected refuses the snapshot with a reason, and the caller boots normally. The
// files' formats and checks are ./snapshot-files.js.

import {
  HEADER_BYTES,
  PRECACHE_VERIFIED,
  SNAPSHOT_FORMAT,
  SnapshotRefused,
  restoreSparse,
  sha256Hex,
  snapshotHeader,
  storedZipMembers,
  timeLimit,
} from './snapshot-files.js'
import { withoutStackSwitching } from './runtime-module.js'
import { linkedForSnapshot } from './runtime-table.js'

function dirname(path) {
  return path.slice(0, path.lastIndexOf('/')) || '/'
}

/**
 * A `createPyodideModule` for loadPyodide that lays the runtime out for a snapshot: installs
 * `files.wheels` (stored zips, in order; `files` may be a promise) into site-packages and loads
 * their .so files before the C runtime starts. With `files.meta` (a restore: the snapshot's
 * metadata) they go at its table base, a layout or runtime build other than the snapshot's is
 * refused, and the heap copy is made to fit and to keep this engine's own state; it copies
 * `files.heap` (the snapshot's checked bytes, or a promise of them, awaited once the wheels are
 * laid out), whatever loadPyodide was given as `_loadSnapshot`. Without it (making) the table
 * base is one of its own. `layout` resolves with what was laid out, or rejects (the boot then
 * never finishes: race it). `boot(loadPyodide, options)` loads Pyodide so, racing `layout`.
 * `waitFor`: a promise to await first; `onReady`: called once the runtime is compiled and
 * `waitFor` settled; `onStart`: called when the time limit starts: once `files.arrived` (the
 * heap's download) resolves, the runtime being compiled by then.
 */
export function snapshotRuntime({ asmURL, files, waitFor = null, onReady = null, onStart = null, timeoutMs = Infinity }) {
  let laidOut, failed
  // Past its deadline (`timeoutMs` after every file is here) or after abort(), a restore
  // stops at its next step, instead of running on beside the boot that replaces it. Checked
  // between steps as well as by the caller's timer: the steps may hold the event loop.
  const state = { aborted: false, deadline: Infinity, timeoutMs, heap: null }
  const layout = new Promise((resolve, reject) => {
    laidOut = resolve
    failed = reject
  })
  layout.catch(() => null) // the caller races it; an early failure is not unhandled
  const createPyodideModule = async (settings) => {
    const { default: createModule } = await import(asmURL)
    if (settings.instantiateWasm) settings.instantiateWasm = linkedForSnapshot(settings.instantiateWasm)
    settings.preRun = [
      ...(settings.preRun || []),
      (Module) => {
        Module.addRunDependency('memory-snapshot layout')
        Promise.resolve(waitFor)
          .catch(() => null)
          .then(() => {
            onReady?.()
            return files
          })
          .then(({ wheels, heap = null, arrived = null, compiled = new Map(), meta = null }) => {
            // the time limit runs once every file is here (a download is not the restore)
            Promise.resolve(arrived).then(
              () => {
                state.deadline = performance.now() + timeoutMs
                onStart?.()
              },
              () => null, // refused by the checks
            )
            return lay(Module, { wheels, heap, compiled, tableBase: meta?.tableBase ?? null, expect: meta, state })
          })
          .then((result) => {
            // starts the C runtime at once: an error there must reject `layout`, not vanish
            Module.removeRunDependency('memory-snapshot layout')
            laidOut(result)
          })
          .catch((error) =>
            failed(error instanceof SnapshotRefused ? error : new SnapshotRefused('mismatch', `the runtime could not be laid out: ${error?.message || error}`, error)),
          )
      },
    ]
    checkGoing(state)
    return withoutStackSwitching(() => createModule(settings))
  }
  /** loadPyodide(options) with this layout: its pyodide, or why the layout failed. */
  const boot = (loadPyodide, options) =>
    Promise.race([loadPyodide({ ...options, createPyodideModule }), layout.then(() => new Promise(() => {}))])
  return { boot, layout, abort: () => (state.aborted = true) }
}

function tooSlow(ms) {
  return new SnapshotRefused('timeout', `the restore did not finish within ${ms} ms`)
}

function checkGoing(state) {
  if (state.aborted || performance.now() > state.deadline) {
    state.aborted = true
    throw tooSlow(state.timeoutMs)
  }
}

/**
 * The wheels' files into `site`: each member's bytes handed to the file system as they are (a
 * view of its stored wheel, not a copy: the wheels' bytes become the files' storage, and are not
 * to be read as the wheels afterwards), each directory made once. The .so files' paths.
 */
function writeSitePackages(FS, wheels, site) {
  const libraries = []
  const made = new Set()
  for (const wheel of wheels) {
    for (const [name, data] of storedZipMembers(wheel)) {
      const path = `${site}/${name}`
      const dir = dirname(path)
      if (!made.has(dir)) {
        FS.mkdirTree(dir)
        made.add(dir)
      }
      FS.writeFile(path, data, { canOwn: true })
      if (name.endsWith('.so')) libraries.push(path)
    }
  }
  return libraries
}

async function lay(Module, { wheels, heap, compiled, tableBase, expect, state }) {
  checkGoing(state)
  const { FS, API } = Module
  const buildId = API.config.BUILD_ID
  if (expect && expect.buildId !== buildId) {
    throw new SnapshotRefused('mismatch', `the snapshot is of another runtime build (${expect.buildId.slice(0, 12)}, this one is ${buildId.slice(0, 12)})`)
  }
  const site = API.sitePackages
  const libraries = writeSitePackages(FS, wheels, site)
  const table = Module.wasmTable
  // Making: room above this engine's entries for engines that add some (a GC trampoline).
  if (tableBase == null) tableBase = Math.ceil((table.length + 64) / 256) * 256
  if (table.length > tableBase) {
    throw new SnapshotRefused('mismatch', `the function table starts at ${table.length} entries, past the snapshot's base ${tableBase}`)
  }
  const engineEntries = table.length
  // The heap holds the maker's slot numbers: this engine's entries must be the maker's, give or
  // take the one trampoline an engine with Wasm GC appends after them. A count under the base
  // alone would let shifted slots through (WebKit's, without ./runtime-table.js, had the base
  // been higher), and the restored heap would call the wrong functions.
  const madeEntries = expect?.made?.tableEntries
  if (expect && !(Math.abs(engineEntries - madeEntries) <= 1)) {
    throw new SnapshotRefused('mismatch', `the function table starts at ${engineEntries} entries, the snapshot's maker had ${madeEntries}`)
  }
  table.grow(tableBase - table.length)
  const libs = []
  const sbrk = () => Module.HEAPU32[Module._emscripten_get_sbrk_ptr() >>> 2]
  for (const path of libraries.sort()) {
    const start = table.length
    const memoryStart = sbrk()
    const flags = { loadAsync: true, global: false, nodelete: true, allowUndefined: true }
    checkGoing(state)
    const binary = (await compiled.get(path.slice(site.length + 1))) ?? FS.readFile(path)
    Module.preloadedWasm[path] = await Module.loadWebAssemblyModule(binary, flags, path, {})
    await Module.loadDynamicLibrary(path, flags)
    libs.push({ path, table: [start, table.length], memory: [memoryStart, sbrk()] })
  }
  const result = { format: SNAPSHOT_FORMAT, buildId, sitePackages: site, tableBase, libs }
  if (expect) {
    // field by field, in one order (the dist's metadata has its keys sorted)
    const key = (r) => JSON.stringify([r.format, r.sitePackages, r.tableBase, r.libs?.map((l) => [l.path, l.table, l.memory])])
    if (key(result) !== key(expect)) throw new SnapshotRefused('mismatch', 'the runtime was laid out unlike the snapshot')
  }
  keepLoadedPackages(API)
  if (expect) {
    const bytes = await heap // checked meanwhile
    checkGoing(state)
    state.heap = bytes
    fitRestore(Module, API, state)
  }
  checkGoing(state)
  return { ...result, engineEntries }
}

// Slot 6 of the JS references is pyodide.loadedPackages, which Pyodide would restore as a new {}.
function keepLoadedPackages(API) {
  const expectedKeys = API.getExpectedKeys
  API.getExpectedKeys = () => {
    const keys = expectedKeys()
    const live = API.public_api?.loadedPackages
    if (live) keys[6] = live
    return keys
  }
}

// Pyodide's restore, replaced: the checked sparse heap copied into memory grown to its size,
// this engine's trampoline and the C library's time zone kept.
function fitRestore(Module, API, state) {
  API.restoreSnapshot = (given) => {
    checkGoing(state)
    const bytes = state.heap ?? given
    state.heap = null // this wrapper stays on Pyodide's API: it must not keep the snapshot
    const header = snapshotHeader(bytes)
    const { heapBytes } = header
    if (Module.HEAP8.length < heapBytes && !Module.growMemory(heapBytes)) {
      throw new SnapshotRefused('mismatch', `the memory cannot grow to the snapshot's ${heapBytes} bytes`)
    }
    const at = (Module.__PyRuntime + Module.HEAP32[Module.__PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET >>> 2]) >>> 2
    const trampoline = Module.HEAP32[at]
    performance.mark?.('memory-snapshot-copy')
    const config = restoreSparse(Module, bytes, header)
    Module.HEAP32[at] = trampoline
    // The C library's zone (timezone, daylight, tzname: set once per process, in the heap) as
    // this engine's tzset sets it; the time module's copies are set in afterRestorePython.
    const names = Module._tzname >>> 2
    Module.__tzset_js(Module._timezone, Module._daylight, Module.HEAPU32[names], Module.HEAPU32[names + 1])
    return config
  }
}

/**
 * The time module's zone as a normal boot in this engine sets it: Emscripten's tzset (the
 * offsets of 1 January and 1 July this year, named UTC+hhmm) and CPython's time module
 * (altzone one hour before the standard offset).
 */
export function engineTimeZone(now = new Date()) {
  const year = now.getFullYear()
  const winter = new Date(year, 0, 1).getTimezoneOffset()
  const summer = new Date(year, 6, 1).getTimezoneOffset()
  const name = (offset) => {
    const abs = Math.abs(offset)
    return `UTC${offset >= 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`
  }
  const std = Math.max(winter, summer)
  const names = summer < winter ? [name(winter), name(summer)] : [name(summer), name(winter)]
  return { timezone: std * 60, altzone: std * 60 - 3600, daylight: Number(winter !== summer), tzname: names }
}

/** Python run right after a restore: what the build machine froze, made this learner's. */
export function afterRestorePython(lang, zone = engineTimeZone()) {
  return [
    'import os, random, time',
    'random.seed()', // the build's state would be every learner's
    // the time zone (Pyodide has no time.tzset): the build machine's was UTC
    `time.timezone, time.altzone, time.daylight = ${zone.timezone}, ${zone.altzone}, ${zone.daylight}`,
    `time.tzname = (${JSON.stringify(zone.tzname[0])}, ${JSON.stringify(zone.tzname[1])})`,
    `os.environ["LANG"] = ${JSON.stringify(lang)}`,
    'del os, random, time',
  ].join('\n')
}

/** The LANG a normal boot has (Emscripten's rule: the browser's language, or C). */
export function browserLang() {
  return `${(globalThis.navigator?.language ?? 'C').replace('-', '_')}.UTF-8`
}

/** Whether bytes whose sha256 is `digest` (hex, or PRECACHE_VERIFIED) are the ones `expected`. */
function sameDigest(digest, expected) {
  return digest === PRECACHE_VERIFIED || digest === expected
}

/**
 * The heap's bytes, awaited, if they are what `meta` says (size, header, build, sha256: the
 * digest `known` resolves to, where the bytes were read, PRECACHE_VERIFIED, or else hashed here).
 */
async function checkedHeap(meta, heap, known) {
  const bytes = await heap
  performance.mark?.('memory-snapshot-fetched')
  if (bytes.byteLength !== meta.heap.size) {
    throw new SnapshotRefused('corrupt', `the snapshot has ${bytes.byteLength} bytes, ${meta.heap.size} expected`)
  }
  if (snapshotHeader(bytes).buildId !== meta.buildId) throw new SnapshotRefused('mismatch', 'the snapshot and its metadata name different runtime builds')
  // hashed here (off the main thread, while the runtime is laid out) when `known` gives no digest
  const digest = (await known) ?? (await sha256Hex(bytes))
  if (!sameDigest(digest, meta.heap.sha256)) throw new SnapshotRefused('corrupt', 'the snapshot does not match its sha256')
  performance.mark?.('memory-snapshot-checked', { detail: { verified: digest === PRECACHE_VERIFIED ? 'precache' : 'sha256' } })
  return bytes
}

/**
 * The wheels' bytes, awaited, if they are what `meta` says (sha256: the digests `known` resolves
 * to, where they were read, PRECACHE_VERIFIED, or else hashed here), their .so files compiling.
 */
async function checkedWheels(meta, wheels, known) {
  const wheelBytes = await wheels
  if (wheelBytes.length !== meta.wheels.length) throw new SnapshotRefused('mismatch', 'the wheels are not the ones the snapshot names')
  const knownDigests = (await known) ?? []
  const digests = await Promise.all(wheelBytes.map((bytes, i) => knownDigests[i] ?? sha256Hex(bytes)))
  meta.wheels.forEach((w, i) => {
    if (!sameDigest(digests[i], w.sha256)) throw new SnapshotRefused('corrupt', `${w.name} does not match its sha256`)
  })
  // the wheels' .so files compile now, off the main thread, while the runtime compiles
  const compiled = new Map()
  for (const wheel of wheelBytes) {
    for (const [name, data] of storedZipMembers(wheel)) {
      if (name.endsWith('.so')) compiled.set(name, WebAssembly.compile(data).catch(() => null))
    }
  }
  return { wheels: wheelBytes, compiled }
}

/**
 * Boot Pyodide from a snapshot: `meta` (its metadata), `heap` (the snapshot's bytes) and
 * `wheels` (the bytes of meta.wheels, in order, or a function of the metadata returning them),
 * each a value or a promise: the runtime downloads and compiles at once, meanwhile, and is laid
 * out with the wheels once they are here and checked (format, sha256) while the heap arrives and
 * is checked (size, header, build, sha256; `heapSha256`, a hex digest or a promise of one, is
 * the heap's where it was read: not hashed again; `wheelSha256s`, the wheels' so, in order, or
 * a promise of them, null for any not known; PRECACHE_VERIFIED for bytes the service worker's
 * precache held, which it stored only if they matched). Refuses with a reason. The restore must
 * finish within `timeoutMs` of every file being here (and `waitFor` settled; none when it is not
 * a finite number). `onRuntimeReady(meta)`: called once the runtime is compiled and `waitFor`
 * settled (the normal boot could start). `options`: the rest of loadPyodide's options.
 */
export async function restoreFromSnapshot({ loadPyodide, asmURL, heap, heapSha256 = null, meta, wheels, wheelSha256s = null, timeoutMs, waitFor = null, onRuntimeReady = null, options = {} }) {
  const limit = timeLimit(timeoutMs)
  const checkedMeta = Promise.resolve(meta).then((m) => {
    if (!m || m.format !== SNAPSHOT_FORMAT) {
      throw new SnapshotRefused('mismatch', `the snapshot's metadata is of format ${m?.format}, this page reads ${SNAPSHOT_FORMAT}`)
    }
    return m
  })
  // the heap is checked on its own (and raced below: refused at once), and awaited only to be
  // copied: the runtime is laid out with the wheels meanwhile
  const heapChecked = checkedMeta.then((m) => checkedHeap(m, heap, heapSha256))
  heapChecked.catch(() => null) // raced below
  const files = checkedMeta.then(async (m) => ({
    ...(await checkedWheels(m, typeof wheels === 'function' ? wheels(m) : wheels, wheelSha256s)),
    meta: m,
    heap: heapChecked,
    arrived: heap,
  }))
  files.catch(() => null) // raced below
  let timer
  let startTimer
  const timeout = new Promise((_, reject) => {
    startTimer = () => {
      if (limit === Infinity) return
      timer = setTimeout(() => {
        runtime.abort()
        reject(tooSlow(limit))
      }, limit)
    }
  })
  const onReady = onRuntimeReady && (() => checkedMeta.then(onRuntimeReady).catch(() => null))
  const runtime = snapshotRuntime({ asmURL, files, waitFor, onReady, onStart: startTimer, timeoutMs: limit })
  try {
    const pyodide = await Promise.race([
      // Pyodide reads the snapshot before it instantiates the runtime: it gets a stand-in, and
      // the laying out hands its copy the checked heap
      runtime.boot(loadPyodide, { ...options, _loadSnapshot: new Uint8Array(HEADER_BYTES) }),
      files.then(() => new Promise(() => {})), // refused: at once
      heapChecked.then(() => new Promise(() => {})),
      timeout,
    ])
    // Pyodide keeps its options: they must not keep the heap's or the wheels' bytes alive
    if (pyodide._api?.config) Object.assign(pyodide._api.config, { _loadSnapshot: null, createPyodideModule: null })
    for (const name of (await checkedMeta).packages) pyodide.loadedPackages[name] = 'memory snapshot'
    pyodide.runPython(afterRestorePython(browserLang()))
    return pyodide
  } catch (error) {
    runtime.abort() // a runtime still starting stops at its next step: the normal boot follows
    if (error instanceof SnapshotRefused) throw error
    throw new SnapshotRefused('corrupt', `the snapshot could not be restored: ${error?.message || error}`, error)
  } finally {
    clearTimeout(timer)
  }
}
