// Pyodide and pyclient for the page, from this dist only: from the build's memory snapshot when
// it is there and sound (./memory-snapshot.js), otherwise the normal way (the runtime, then the
// wheels installed, then the imports). Either way the page learns which: <html
// data-pyodide-boot="snapshot|normal">, with data-pyodide-boot-fallback="missing|corrupt|
// mismatch|timeout" when the snapshot was not used, and the performance mark 'pyodide-boot'
// (its detail: { boot, fallback }).

import { LOCKFILE_URL, PACKAGE_DIR, RUNTIME_DIR, SNAPSHOT_DIR, SNAPSHOT_WHEELS } from './build-files.js' // generated: the runtime's URLs
import { keptStorage } from './kept-storage.js'
import { restoreFromSnapshot } from './memory-snapshot.js'
import { createRuntimeModule } from './runtime-module.js'
import { PRECACHE_VERIFIED, SnapshotRefused, expectDownload, precacheName, precachedResponse, readBuildFile, readBytes, sha256Hex } from './snapshot-files.js'
import { settledFetch } from './settled-fetch.js'

export class LoadError extends Error {
  constructor(message, cause) {
    super(message, cause ? { cause } : undefined)
    this.name = 'ProgressClientLoadError'
  }
}

const PACKAGES = ['pydantic', 'pyclient']
const ASM_URL = new URL('pyodide.asm.mjs', RUNTIME_DIR)
const HEAP_URL = SNAPSHOT_DIR && new URL('heap.bin', SNAPSHOT_DIR)
/**
 * How long a restore may take once its files and the standard library are here (or in the
 * precache) and the runtime is compiled (not a finite number: no limit).
 */
export const SNAPSHOT_TIMEOUT_MS = 10_000
/**
 * How long a file of the snapshot may go with nothing of it, nor of the other files read beside
 * it, arriving before it is given up (a stalled download or read, refused as 'timeout'): a slow
 * line's download goes on (./snapshot-files.js, stallWatch).
 */
export const SNAPSHOT_STALL_MS = 10_000
/**
 * How long after the runtime is ready (compiled, and the standard library here) the heap's
 * download may still take: about what booting the normal way from there takes longer than a
 * restore, on a busy machine. A heap not here by then is given up (refused as 'timeout'), at
 * once when the rate it has come at says it will not be (a first visit on a slow line); the
 * service worker precaches it later all the same. Not a read from the precache.
 */
export const SNAPSHOT_LATE_MS = 2_000
/**
 * How long the heap's body may take to download, judged by the rate it comes at (every half
 * second from its answer on): on a line too slow for it (a few Mbit/s, the heap sharing it with
 * the runtime; not less: a busy machine's loopback read came under 4 s in a test run) the
 * normal boot is quicker than the heap, which the service worker precaches afterwards. Given up
 * then, before it takes much of the line from the runtime (refused as 'timeout').
 */
export const SNAPSHOT_LINE_MS = 15_000

// After a failed loadPackage: say which shipped file is missing or does not match its sha256.
async function diagnose(pyodide) {
  const lock = await (await fetch(LOCKFILE_URL, { cache: 'no-store' })).json()
  const causes = []
  for (const [name, pkg] of Object.entries(lock.packages)) {
    if (name in pyodide.loadedPackages) continue
    const response = await fetch(new URL(pkg.file_name, PACKAGE_DIR), { cache: 'no-store' })
    if (!response.ok) {
      causes.push(`${pkg.file_name} is missing from the dist (HTTP ${response.status})`)
      continue
    }
    if ((await sha256Hex(await response.arrayBuffer())) !== pkg.sha256) causes.push(`${pkg.file_name} does not match its sha256 in pyodide-lock.json`)
  }
  return causes
}

/** Download the wheels now (immutable URLs: into the browser's cache) to install them later. */
function prefetchWheels() {
  fetch(LOCKFILE_URL)
    .then((response) => response.json())
    .then((lock) => {
      for (const pkg of Object.values(lock.packages)) {
        fetch(new URL(pkg.file_name, PACKAGE_DIR))
          .then((response) => response.arrayBuffer())
          .catch(() => null) // loadPackage below reports what is missing
      }
    })
    .catch(() => null)
}

const loadOptions = () => ({
  indexURL: RUNTIME_DIR.href,
  // absolute URLs (DESIGN §7); the wheels' file names are relative to PACKAGE_DIR, which is
  // also where a CDN fallback would look: nothing leaves this origin
  lockFileURL: LOCKFILE_URL.href,
  packageBaseUrl: PACKAGE_DIR.href,
})

/**
 * Pyodide, then the packages. With `startAfter`, the runtime downloads and compiles at once and
 * the wheels download, but Python's start and the packages' installation (the long tasks on the
 * main thread) wait for it.
 */
async function normalBoot(loadPyodide, startAfter) {
  if (startAfter) prefetchWheels()
  const pyodide = await loadPyodide({
    ...loadOptions(),
    createPyodideModule: createRuntimeModule(ASM_URL.href),
    fsInit: startAfter ? () => Promise.resolve(startAfter).catch(() => null) : undefined,
    // during the boot, unless it waits: linking pydantic_core is itself a long task
    packages: startAfter ? [] : PACKAGES,
  })
  // Installs them (a no-op when they were installed during the boot) or says why it cannot.
  const failures = []
  await pyodide.loadPackage(PACKAGES, {
    messageCallback: () => {},
    errorCallback: (msg) => failures.push(msg),
  })
  const missing = PACKAGES.filter((p) => !(p in pyodide.loadedPackages))
  if (failures.length || missing.length) {
    const causes = await diagnose(pyodide).catch(() => [])
    throw new LoadError(
      `could not load the Python packages ${missing.join(', ') || PACKAGES.join(', ')}` +
        (causes.length ? ` (${causes.join('; ')})` : '') +
        (failures.length ? `: ${failures.join('; ')}` : ''),
    )
  }
  return pyodide
}

// Whether a service worker (this build's, with its precache) controls the page.
function controlled() {
  try {
    return Boolean(globalThis.navigator?.serviceWorker?.controller)
  } catch {
    return false // no service workers here (an opaque origin)
  }
}

// The name of this build's precache when a service worker controls the page (the learning
// page's, whose scope is the dist's root, this module's parent directory), else null.
function precache() {
  return controlled() ? precacheName(new URL('../', import.meta.url).href) : null
}

// A file of the build's bytes, from the precache when the page is controlled.
function fetchBytes(url, stallMs) {
  return readBytes(url.href, precache(), stallMs)
}

// The worker that reads the snapshot's files (./read-worker.js): one for all of them, ended once
// every answer is in; null before it is asked for, false where no worker starts.
let reader = null

function startReader() {
  let worker
  try {
    worker = new Worker(new URL('read-worker.js', import.meta.url), { type: 'module' })
  } catch {
    return false
  }
  const pending = new Map() // url -> resolve
  const end = () => {
    worker.terminate()
    if (reader?.worker === worker) reader = null
  }
  // every file not answered yet: read on the page (the heap too, even if the worker had read it)
  const readHere = () => {
    end()
    for (const resolve of pending.values()) resolve(null)
    pending.clear()
  }
  worker.onmessage = ({ data }) => {
    pending.get(data.url)?.(data)
    pending.delete(data.url)
    if (!pending.size) end()
  }
  worker.onerror = (event) => {
    event.preventDefault() // the worker's script did not load: not the page's error
    readHere()
  }
  worker.onmessageerror = readHere // an answer could not be read here
  return { worker, pending }
}

// ./read-worker.js's answer for `url`, or null where no worker starts (the page reads it then).
function askReadWorker(url, stallMs) {
  if (reader === null) reader = startReader()
  if (!reader || reader.pending.has(url.href)) return Promise.resolve(null)
  const { worker, pending } = reader
  return new Promise((resolve) => {
    pending.set(url.href, resolve)
    worker.postMessage({ url: url.href, precache: precache(), stallMs })
  })
}

// What is expected of each file being read (readOffThread), by URL: asked again of the page's
// own read of it when the worker that was reading it ends without an answer (its expectations
// ended with it).
const expected = new Map() // url -> [{ size, withinMs, deadline, askedAt }]

// What is expected of the download of `url` (./read-worker.js's, or the page's own): its `size`
// bytes within `withinMs`, judged by its rate, and with `deadline` at the latest then
// (expectDownload), from now (as ms since the epoch: the same time in the worker).
function expectRead(url, size, withinMs, deadline) {
  const expect = { size, withinMs, deadline, askedAt: performance.timeOrigin + performance.now() }
  expected.get(url.href)?.push(expect)
  if (reader?.pending.has(url.href)) reader.worker.postMessage({ url: url.href, expect })
  else expectDownload(url.href, size, withinMs, deadline, expect.askedAt)
}

/**
 * A file of the build read and hashed off the main thread (./read-worker.js), where workers
 * run: { bytes, sha256 } (sha256: null when not known yet, PRECACHE_VERIFIED when the bytes came
 * from the precache); refused as readBuildFile refuses.
 */
async function readOffThread(url, stallMs) {
  const asks = []
  expected.set(url.href, asks)
  try {
    const answer = await askReadWorker(url, stallMs)
    if (answer === null) {
      const read = readBuildFile(url.href, precache(), stallMs)
      for (const e of asks) expectDownload(url.href, e.size, e.withinMs, e.deadline, e.askedAt)
      const { bytes, precached } = await read
      return { bytes, sha256: precached ? PRECACHE_VERIFIED : null }
    }
    if (answer.refused) throw new SnapshotRefused(answer.refused, answer.message)
    return { bytes: new Uint8Array(answer.buffer), sha256: answer.precached ? PRECACHE_VERIFIED : answer.sha256 }
  } finally {
    if (expected.get(url.href) === asks) expected.delete(url.href)
  }
}

/**
 * The snapshot's files, all read at once: the heap and the wheels (off the main thread, with
 * their sha256), the metadata (each a promise; from the precache when it holds them), and the
 * standard library into the HTTP cache, where Pyodide's own fetch finds it, so that the
 * restore's time limit does not count its download (not when the precache holds it: a second
 * read would only slow the heap's). A file of which nothing arrives for `stallMs` is given up
 * (refused as 'timeout'; the standard library is then left to Pyodide's own fetch, under the
 * restore's time limit), and so is a download of the heap whose body would take more than
 * `lineMs` at its rate (too slow for the line). Null when this build has no snapshot.
 */
function snapshotFiles(stallMs, lineMs) {
  if (SNAPSHOT_DIR === null) return null
  const heap = readOffThread(HEAP_URL, stallMs)
  heap.catch(() => null) // awaited in the restore, unless the metadata fails first
  const stdlibURL = new URL('python_stdlib.zip', RUNTIME_DIR)
  const cacheName = precache()
  const stdlib = (cacheName ? precachedResponse(stdlibURL.href, cacheName) : Promise.resolve(null))
    .then((cached) => cached || readBuildFile(stdlibURL.href, null, stallMs))
    .then(() => null) // kept by the HTTP cache or the precache, not here
    .catch(() => null)
  const meta = fetchBytes(new URL('meta.json', SNAPSHOT_DIR), stallMs).then((bytes) => {
    let value
    try {
      value = JSON.parse(new TextDecoder().decode(bytes))
    } catch (error) {
      throw new SnapshotRefused('corrupt', 'the snapshot metadata is not JSON', error)
    }
    if (!Array.isArray(value?.wheels)) throw new SnapshotRefused('corrupt', 'the snapshot metadata names no wheels')
    return value
  })
  meta.catch(() => null) // awaited in the restore
  // a download of the heap too slow for this line is given up early (not a read from the precache)
  meta.then((m) => expectRead(HEAP_URL, m.heap?.size, lineMs, false)).catch(() => null)
  // the wheels build-files.js names, not after the metadata: the restore checks they are its
  const wheels = SNAPSHOT_WHEELS.map((file) => readOffThread(new URL(file, PACKAGE_DIR), stallMs))
  for (const wheel of wheels) wheel.catch(() => null)
  return { heap, meta, stdlib, wheels }
}

/**
 * The restore from the snapshot's files (snapshotFiles()): the runtime downloads and compiles
 * at once, while the heap and the wheels arrive and are checked.
 */
async function snapshotBoot(loadPyodide, files, timeoutMs, lateMs) {
  if (files === null) throw new SnapshotRefused('missing', 'this build has no memory snapshot')
  const heap = files.heap.then((read) => read.bytes)
  heap.catch(() => null) // awaited in the restore, unless the metadata fails first
  return restoreFromSnapshot({
    loadPyodide,
    asmURL: ASM_URL.href,
    heap,
    heapSha256: files.heap.then((read) => read.sha256).catch(() => null), // refused with the bytes
    meta: files.meta,
    wheels: (m) => {
      if (JSON.stringify(m.wheels.map((w) => w.file)) !== JSON.stringify(SNAPSHOT_WHEELS)) {
        throw new SnapshotRefused('mismatch', 'the snapshot names other wheels than this build')
      }
      return Promise.all(files.wheels).then((reads) => reads.map((read) => read.bytes))
    },
    wheelSha256s: Promise.all(files.wheels).then((reads) => reads.map((read) => read.sha256)).catch(() => null), // refused with the bytes
    timeoutMs,
    // once the runtime is ready, a heap still far from here is given up: the normal boot is quicker
    onRuntimeReady: (m) => expectRead(HEAP_URL, m.heap?.size, lateMs, true),
    // the timer starts once the standard library is here (or precached); a restore's steps are
    // short, so it does not wait for `startAfter` (which keeps the normal boot's long tasks from
    // a first click)
    waitFor: files.stdlib,
    options: loadOptions(),
  })
}

function report(boot, fallback) {
  const root = globalThis.document?.documentElement
  if (root) {
    root.dataset.pyodideBoot = boot
    if (fallback) root.dataset.pyodideBootFallback = fallback
  }
  performance.mark?.('pyodide-boot', { detail: { boot, fallback } })
}

/**
 * pyclient's bridge in `pyodide`, with what its ports take from JS (pyclient/adapters/pyodide.py)
 * as an importable module.
 */
function importBridge(pyodide) {
  pyodide.registerJsModule('pyclient_js', { keptStorage, settledFetch })
  return pyodide.pyimport('pyclient.bridge')
}

// The first real work of a restored interpreter, while the normal boot can still take over:
// pydantic-core validating (code and data of its .so at the addresses the heap has) and the
// bridge imported.
const RESTORED_WORKS = `
from pydantic import TypeAdapter
assert TypeAdapter(list[int]).validate_python(["1", 2]) == [1, 2]
del TypeAdapter
`

/** Pyodide with the page's packages, and pyclient's bridge: { pyodide, bridge, boot }. */
export async function bootPython(startAfter, { snapshotTimeoutMs, snapshotStallMs, snapshotLateMs, snapshotLineMs } = {}) {
  const given = (ms, otherwise) => (typeof ms === 'number' && !Number.isNaN(ms) ? ms : otherwise)
  snapshotTimeoutMs = given(snapshotTimeoutMs, SNAPSHOT_TIMEOUT_MS)
  snapshotStallMs = given(snapshotStallMs, SNAPSHOT_STALL_MS)
  snapshotLateMs = given(snapshotLateMs, SNAPSHOT_LATE_MS)
  snapshotLineMs = given(snapshotLineMs, SNAPSHOT_LINE_MS)
  // The snapshot's files are read at once from a service worker's precache; from the network
  // only once the runtime's module is here, so that the page's own content is asked for first
  // (on a slow line the large files would otherwise hold every connection before it).
  let files = controlled() ? snapshotFiles(snapshotStallMs, snapshotLineMs) : undefined
  const { loadPyodide } = await import(new URL('pyodide.mjs', RUNTIME_DIR).href)
  if (files === undefined) files = snapshotFiles(snapshotStallMs, snapshotLineMs)
  let pyodide = null
  let bridge = null
  let fallback = null
  try {
    pyodide = await snapshotBoot(loadPyodide, files, snapshotTimeoutMs, snapshotLateMs)
    try {
      pyodide.runPython(RESTORED_WORKS)
      bridge = importBridge(pyodide)
    } catch (error) {
      throw new SnapshotRefused('mismatch', `the restored interpreter does not work: ${error?.message || error}`, error)
    }
  } catch (error) {
    fallback = error instanceof SnapshotRefused ? error.reason : 'corrupt'
    console.info(`Learning progress: starting without the memory snapshot (${fallback}): ${error?.message || error}`)
    pyodide = await normalBoot(loadPyodide, startAfter)
    bridge = null
  }
  const boot = fallback ? 'normal' : 'snapshot'
  report(boot, fallback)
  performance.mark?.('pyodide-ready')
  bridge ??= importBridge(pyodide)
  performance.mark?.('pyclient-ready')
  return { pyodide, bridge, boot }
}
