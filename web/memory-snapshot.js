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
//   - the heap points into pydantic_core's .so (its data, its function table slots): every .so
//     is loaded in that same early hook, where memory is a deterministic bump, after the
//     function table is padded to a fixed base (engines add a trampoline to it or not);
//   - the heap is bigger than the memory the runtime starts with: grown before the copy;
//   - CPython's call trampoline is this engine's, written back after the copy;
//   - slot 6 of the JS references stays the live `pyodide.loadedPackages` in both runs.
// Anything unexpected refuses the snapshot with a reason, and the caller boots normally.

/** The snapshot's own format (bump it when what is made or checked here changes). */
export const SNAPSHOT_FORMAT = 2
const MAGIC = 0x706e7300 // Pyodide's snapshot header: "\0snp", an offset, the JSON length, padding, the build id
const HEADER_BYTES = 48
// The heap is stored sparse: after Pyodide's header (up to its offset), the page size, the
// number of pages, a bitmap of the pages that hold anything but zeros, then (from the next
// 16-byte boundary of the file) those pages. About 40% of the heap is whole zero pages: reading a cached snapshot is
// most of a warm restore's time.
const PAGE_BYTES = 4096

/** Why a snapshot was not used: 'missing', 'corrupt', 'mismatch' or 'timeout'. */
export class SnapshotRefused extends Error {
  constructor(reason, message, cause) {
    super(message, cause ? { cause } : undefined)
    this.name = 'SnapshotRefused'
    this.reason = reason
  }
}

/** The members of a zip whose members are stored, not deflated (build.py writes the wheels so). */
export function storedZipMembers(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let end = -1
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i
      break
    }
  }
  if (end < 0) throw new SnapshotRefused('corrupt', 'a wheel is not a zip archive')
  const count = view.getUint16(end + 10, true)
  let at = view.getUint32(end + 16, true)
  const decoder = new TextDecoder()
  const members = []
  for (let n = 0; n < count; n++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new SnapshotRefused('corrupt', 'a wheel has a broken directory')
    const method = view.getUint16(at + 10, true)
    const size = view.getUint32(at + 20, true)
    const nameLength = view.getUint16(at + 28, true)
    const extraLength = view.getUint16(at + 30, true)
    const commentLength = view.getUint16(at + 32, true)
    const local = view.getUint32(at + 42, true)
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength))
    at += 46 + nameLength + extraLength + commentLength
    if (name.endsWith('/')) continue
    if (method !== 0) throw new SnapshotRefused('mismatch', `${name} is compressed in its wheel (the build stores members)`)
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true)
    if (view.getUint32(local, true) !== 0x04034b50 || start + size > bytes.length) {
      throw new SnapshotRefused('corrupt', `a wheel's ${name} is cut short`)
    }
    members.push([name, bytes.subarray(start, start + size)])
  }
  return members
}

/**
 * The header of a snapshot as stored here (sparse): { buildId, heapBytes, offset, pageBytes,
 * pages, bitmap, data } (data: where the stored pages start), or refused as corrupt.
 */
export function snapshotHeader(bytes) {
  const short = () => new SnapshotRefused('corrupt', 'the snapshot is cut short')
  if (bytes.byteLength < HEADER_BYTES) throw short()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC) throw new SnapshotRefused('corrupt', 'the snapshot has no snapshot header')
  const offset = view.getUint32(4, true)
  let buildId = ''
  for (let i = 0; i < 8; i++) buildId += view.getUint32(16 + 4 * i, true).toString(16).padStart(8, '0')
  if (offset < HEADER_BYTES + view.getUint32(8, true) || offset + 8 > bytes.byteLength) throw short()
  const pageBytes = view.getUint32(offset, true)
  const pages = view.getUint32(offset + 4, true)
  if (offset + 8 + Math.ceil(pages / 8) > bytes.byteLength) throw short()
  const bitmap = bytes.subarray(offset + 8, offset + 8 + Math.ceil(pages / 8))
  if (pages % 8 && bitmap[bitmap.length - 1] >> pages % 8) throw new SnapshotRefused('corrupt', 'the snapshot marks pages it does not have')
  const data = Math.ceil((offset + 8 + bitmap.length) / 16) * 16
  let stored = 0
  for (const byte of bitmap) for (let b = byte; b; b &= b - 1) stored++
  if (pageBytes !== PAGE_BYTES || data + stored * pageBytes !== bytes.byteLength) throw short()
  return { buildId, heapBytes: pages * pageBytes, offset, pageBytes, pages, bitmap, data }
}

/** Pyodide's snapshot (header, then the whole heap) stored sparse (see PAGE_BYTES). */
export function sparseSnapshot(snapshot) {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength)
  const offset = view.getUint32(4, true)
  const heap = snapshot.subarray(offset)
  if (heap.length % PAGE_BYTES) throw new Error(`a heap of ${heap.length} bytes is not whole ${PAGE_BYTES}-byte pages`)
  const pages = heap.length / PAGE_BYTES
  const bitmap = new Uint8Array(Math.ceil(pages / 8))
  const kept = []
  for (let i = 0; i < pages; i++) {
    const page = heap.subarray(i * PAGE_BYTES, (i + 1) * PAGE_BYTES)
    if (page.some((b) => b !== 0)) {
      bitmap[i >> 3] |= 1 << (i & 7)
      kept.push(page)
    }
  }
  const data = Math.ceil((offset + 8 + bitmap.length) / 16) * 16
  const out = new Uint8Array(data + kept.length * PAGE_BYTES)
  out.set(snapshot.subarray(0, offset))
  new DataView(out.buffer).setUint32(offset, PAGE_BYTES, true)
  new DataView(out.buffer).setUint32(offset + 4, pages, true)
  out.set(bitmap, offset + 8)
  kept.forEach((page, n) => out.set(page, data + n * PAGE_BYTES))
  return out
}

// Pyodide's restoreSnapshot for the sparse form: the heap written page run by page run (zero
// pages zeroed: the fresh runtime has its own data there), the header's JSON returned.
export function restoreSparse(Module, bytes, header = snapshotHeader(bytes)) {
  const { offset, pageBytes, pages, bitmap, data } = header
  const jsonLength = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getUint32(8, true)
  const config = JSON.parse(new TextDecoder().decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + jsonLength)))
  const heap = Module.HEAP8
  let read = data
  for (let i = 0; i < pages; ) {
    const stored = (bitmap[i >> 3] >> (i & 7)) & 1
    let end = i + 1
    while (end < pages && ((bitmap[end >> 3] >> (end & 7)) & 1) === stored) end++
    if (stored) {
      heap.set(bytes.subarray(read, read + (end - i) * pageBytes), i * pageBytes)
      read += (end - i) * pageBytes
    } else {
      heap.fill(0, i * pageBytes, end * pageBytes)
    }
    i = end
  }
  return config
}

/** Hex sha256 of bytes (WebCrypto, off the main thread where the engine can). */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

function dirname(path) {
  return path.slice(0, path.lastIndexOf('/')) || '/'
}

/**
 * A `createPyodideModule` for loadPyodide that lays the runtime out for a snapshot: installs
 * `files.wheels` (stored zips, in order; `files` may be a promise) into site-packages and loads
 * their .so files at `tableBase` before the C runtime starts (`tableBase` null: a base of its
 * own, when making). `layout` resolves with what was laid out, or rejects (the boot then never
 * finishes: race it). With `expect` (a restore), a layout or runtime build other than the
 * snapshot's is refused, and the heap copy is made to fit and to keep this engine's own state;
 * it copies `files.heap` (the snapshot's bytes), whatever loadPyodide was given as
 * `_loadSnapshot`. `boot(loadPyodide, options)` loads Pyodide so, racing `layout`. `waitFor`: a
 * promise to await first; `onStart`: called when the laying out starts (the runtime is compiled
 * by then).
 */
export function snapshotRuntime({ asmURL, files, tableBase, expect = null, waitFor = null, onStart = null, timeoutMs = Infinity }) {
  let laidOut, failed
  // Past its deadline (`timeoutMs` after the laying out starts) or after abort(), a restore
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
    const instantiateWasm = settings.instantiateWasm
    if (instantiateWasm) {
      settings.instantiateWasm = (imports, done) => instantiateWasm(imports, (instance, module) => done(withTableFunctions(instance), module))
    }
    settings.preRun = [
      ...(settings.preRun || []),
      (Module) => {
        Module.addRunDependency('memory-snapshot layout')
        Promise.resolve(waitFor)
          .catch(() => null)
          .then(() => files)
          .then(({ wheels, heap = null, compiled = new Map() }) => {
            state.heap = heap
            state.deadline = performance.now() + timeoutMs
            onStart?.()
            return lay(Module, { wheels, compiled, tableBase, expect, state })
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
    return createModule(settings)
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

// Emscripten gives every exported function a table slot (its address) unless the function is
// already in the table, which it finds by identity (table.get(i) === the export). WebKit hands
// out another object from the table than from the exports for the same function, so there 972
// exports got a second slot, interleaved with the others: every slot from the first of them on
// was not where the snapshot's maker had it (the table past the snapshot's base, refused).
// Handing Emscripten the table's own object for each export the table holds (found by name: a
// Wasm function's name is its index in the module) gives every engine the same slots; where
// they are identical already, nothing changes.
function withTableFunctions(instance) {
  const exports = instance?.exports
  const table = exports?.__indirect_function_table
  if (!(table instanceof WebAssembly.Table)) return instance
  const inTable = new Map()
  for (let i = 0; i < table.length; i++) {
    const func = table.get(i)
    if (typeof func === 'function' && /^\d+$/.test(func.name) && !inTable.has(func.name)) inTable.set(func.name, func)
  }
  let replaced = 0
  const same = {}
  for (const [key, value] of Object.entries(exports)) {
    const own = typeof value === 'function' ? inTable.get(value.name) : undefined
    if (own && own !== value) replaced++
    same[key] = own ?? value
  }
  return replaced ? { exports: same } : instance
}

async function lay(Module, { wheels, compiled, tableBase, expect, state }) {
  checkGoing(state)
  const { FS, API } = Module
  const buildId = API.config.BUILD_ID
  if (expect && expect.buildId !== buildId) {
    throw new SnapshotRefused('mismatch', `the snapshot is of another runtime build (${expect.buildId.slice(0, 12)}, this one is ${buildId.slice(0, 12)})`)
  }
  const site = API.sitePackages
  const libraries = []
  for (const wheel of wheels) {
    for (const [name, data] of storedZipMembers(wheel)) {
      const path = `${site}/${name}`
      FS.mkdirTree(dirname(path))
      FS.writeFile(path, data)
      if (name.endsWith('.so')) libraries.push(path)
    }
  }
  const table = Module.wasmTable
  // Making: room above this engine's entries for engines that add some (a GC trampoline).
  if (tableBase == null) tableBase = Math.ceil((table.length + 64) / 256) * 256
  if (table.length > tableBase) {
    throw new SnapshotRefused('mismatch', `the function table starts at ${table.length} entries, past the snapshot's base ${tableBase}`)
  }
  const engineEntries = table.length
  // The heap holds the maker's slot numbers: this engine's entries must be the maker's, give or
  // take the one trampoline an engine with Wasm GC appends after them. A count under the base
  // alone would let shifted slots through (WebKit's, without withTableFunctions, had the base
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
  if (expect) fitRestore(Module, API, state)
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

/** The heap and the wheels, awaited, if they are what `meta` says (size, header, sha256). */
async function checkedFiles(meta, heap, wheels) {
  const [heapBytes, wheelBytes] = await Promise.all([heap, wheels])
  performance.mark?.('memory-snapshot-fetched')
  if (heapBytes.byteLength !== meta.heap.size) {
    throw new SnapshotRefused('corrupt', `the snapshot has ${heapBytes.byteLength} bytes, ${meta.heap.size} expected`)
  }
  const header = snapshotHeader(heapBytes)
  if (header.buildId !== meta.buildId) throw new SnapshotRefused('mismatch', 'the snapshot and its metadata name different runtime builds')
  if (wheelBytes.length !== meta.wheels.length) throw new SnapshotRefused('mismatch', 'the wheels are not the ones the snapshot names')
  const digests = await Promise.all([heapBytes, ...wheelBytes].map(sha256Hex))
  if (digests[0] !== meta.heap.sha256) throw new SnapshotRefused('corrupt', 'the snapshot does not match its sha256')
  meta.wheels.forEach((w, i) => {
    if (digests[i + 1] !== w.sha256) throw new SnapshotRefused('corrupt', `${w.name} does not match its sha256`)
  })
  performance.mark?.('memory-snapshot-checked')
  // the wheels' .so files compile now, off the main thread, while the runtime compiles
  const compiled = new Map()
  for (const wheel of wheelBytes) {
    for (const [name, data] of storedZipMembers(wheel)) {
      if (name.endsWith('.so')) compiled.set(name, WebAssembly.compile(data).catch(() => null))
    }
  }
  return { heap: heapBytes, wheels: wheelBytes, compiled }
}

/** A time limit setTimeout can keep (finite, under 2^31 ms), or Infinity: none. */
function timeLimit(ms) {
  return Number.isFinite(ms) && ms >= 0 && ms < 2 ** 31 ? ms : Infinity
}

/**
 * Boot Pyodide from a snapshot: `meta` (its metadata), `heap` (the snapshot's bytes) and
 * `wheels` (the bytes of meta.wheels, in order), each or both promises: the runtime downloads
 * and compiles meanwhile, and is laid out once they are here and checked (sizes, sha256, build,
 * format). Refuses with a reason. The restore must finish within `timeoutMs` of the laying out
 * starting (after `waitFor` settled; none when it is not a finite number). `options`: the rest
 * of loadPyodide's options.
 */
export async function restoreFromSnapshot({ loadPyodide, asmURL, heap, meta, wheels, timeoutMs, waitFor = null, options = {} }) {
  if (!meta || meta.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotRefused('mismatch', `the snapshot's metadata is of format ${meta?.format}, this page reads ${SNAPSHOT_FORMAT}`)
  }
  const limit = timeLimit(timeoutMs)
  const files = checkedFiles(meta, heap, wheels)
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
  const runtime = snapshotRuntime({ asmURL, files, tableBase: meta.tableBase, expect: meta, waitFor, onStart: startTimer, timeoutMs: limit })
  try {
    const pyodide = await Promise.race([
      // Pyodide reads the snapshot before it instantiates the runtime: it gets a stand-in, and
      // the laying out hands its copy the checked heap
      runtime.boot(loadPyodide, { ...options, _loadSnapshot: new Uint8Array(HEADER_BYTES) }),
      files.then(() => new Promise(() => {})),
      timeout,
    ])
    // Pyodide keeps its options: they must not keep the heap's or the wheels' bytes alive
    if (pyodide._api?.config) Object.assign(pyodide._api.config, { _loadSnapshot: null, createPyodideModule: null })
    for (const name of meta.packages) pyodide.loadedPackages[name] = 'memory snapshot'
    pyodide.runPython(afterRestorePython(browserLang()))
    return pyodide
  } catch (error) {
    if (error instanceof SnapshotRefused) throw error
    throw new SnapshotRefused('corrupt', `the snapshot could not be restored: ${error?.message || error}`, error)
  } finally {
    clearTimeout(timer)
  }
}
