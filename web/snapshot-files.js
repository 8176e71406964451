// The files of a Pyodide memory snapshot as this build stores them (./memory-snapshot.js makes
// and restores with them): the sparse form of the heap, its header, the stored-zip wheels read
// without unpacking, their checks, and the one refusal every check gives.

/** The snapshot's own format (bump it when what is made or checked here changes). */
export const SNAPSHOT_FORMAT = 2
const MAGIC = 0x706e7300 // Pyodide's snapshot header: "\0snp", an offset, the JSON length, padding, the build id
export const HEADER_BYTES = 48
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

/**
 * Workbox's name for this build's precache (`cacheId` in scripts/generate-sw.mjs; the worker's
 * static routes in ./sw-network-routes.js name it too), by the scope of the service worker that
 * keeps it: `<id>-precache-v2-<scope>`.
 */
export const PRECACHE_ID = 'learning-progress'
export function precacheName(scope) {
  return `${PRECACHE_ID}-precache-v2-${scope}`
}

/**
 * `url` as the service worker precached it in the cache named `cacheName` (Cache Storage, read
 * directly rather than through the worker's fetch event: a returning learner's files arrive
 * sooner), or null: no other cache of the origin is looked in (a host page's own worker may
 * keep other copies).
 */
export async function precachedResponse(url, cacheName) {
  try {
    const cached = await caches.match(url, { cacheName, ignoreVary: true })
    return cached?.ok ? cached : null
  } catch {
    return null // no Cache Storage here (an opaque origin): the network
  }
}

/**
 * Stands for a file's sha256 when its bytes came from the service worker's precache: the worker
 * precaches the snapshot's heap and the wheels with their integrity (scripts/generate-sw.mjs),
 * so the browser stored them only if they matched the build's sha256 (a precache of earlier
 * builds, filled without it, had another name and is gone). Not hashed again.
 */
export const PRECACHE_VERIFIED = Symbol('verified when precached')

/** A time limit setTimeout can keep (finite, under 2^31 ms), or Infinity: none. */
export function timeLimit(ms) {
  return Number.isFinite(ms) && ms >= 0 && ms < 2 ** 31 ? ms : Infinity
}

// How long a download must have been coming for its rate to say anything (its first chunks come
// in bursts, as fast as they are decoded).
const RATE_WINDOW_MS = 500

// When something of any file read here (this page or this worker) last arrived: the reads
// share one line, and a file waiting for a connection while another downloads has not stalled.
let lastArrival = -Infinity

/**
 * A watch over one read: `stalled` rejects (SnapshotRefused 'timeout', naming `path`) once
 * `stallMs` (timeLimit's rule: none when not a finite number under 2^31) pass with nothing
 * arriving of it or of any other read watched here, or once it fails what `expect()` asked of
 * it, and aborts `signal`; `arrived()` says something did (a chunk), `downloading()` that it is
 * fetched (not read from the precache: `unexpected()`), `answered()` that its answer came,
 * `meter()` is a pass-through stream that counts each chunk, `race(promise)` settles with
 * whichever comes first, `end()` stops watching.
 */
export function stallWatch(path, stallMs) {
  const limit = timeLimit(stallMs)
  const controller = new AbortController()
  let timer = null
  let refuse
  const stalled = new Promise((_, reject) => (refuse = reject))
  stalled.catch(() => null) // raced
  const giveUp = (message) => {
    const error = new SnapshotRefused('timeout', message)
    refuse(error)
    controller.abort(error)
  }
  const since = performance.now()
  const check = () => {
    const quiet = performance.now() - Math.max(since, lastArrival)
    if (quiet < limit) timer = setTimeout(check, limit - quiet)
    else giveUp(`${path} stopped arriving: nothing for ${limit} ms`)
  }
  // a download's bytes so far (decoded) and when its answer came; what is expected of it:
  // judgements waiting for its answer, and timers
  let received = 0
  let answeredAt = null
  const waiting = []
  const deadlines = [] // started once it is known to be fetched, not read from the precache
  let fetched = false
  const timers = new Set()
  const later = (fn, ms) => {
    const t = setTimeout(() => (timers.delete(t), fn()), Math.max(0, ms))
    timers.add(t)
  }
  const watch = {
    signal: controller.signal,
    stalled,
    arrived: () => (lastArrival = performance.now()),
    answered: () => {
      answeredAt = watch.arrived()
      for (const judge of waiting.splice(0)) later(judge, RATE_WINDOW_MS)
    },
    downloading: () => {
      fetched = true
      for (const start of deadlines.splice(0)) start()
    },
    // nothing more is expected of it (a read from the precache, local and quick, or one ended)
    unexpected: () => {
      waiting.length = 0
      deadlines.length = 0
      for (const t of timers) clearTimeout(t)
      timers.clear()
    },
    meter: () =>
      new TransformStream({
        transform: (chunk, out) => {
          watch.arrived()
          received += chunk.byteLength
          out.enqueue(chunk)
        },
      }),
    race: (promise) => Promise.race([promise, stalled]),
    end: () => {
      clearTimeout(timer)
      watch.unexpected()
    },
    /**
     * Gives the download up (refused as 'timeout') when its `size` bytes would not all have come
     * within `withinMs`, at the rate they have come since its answer (judged RATE_WINDOW_MS after
     * its answer, and again every RATE_WINDOW_MS): with `deadline`, `withinMs` from now (the
     * runtime's time, ready now), and then at the latest; otherwise `withinMs` from its answer
     * (the line's time for its body). Nothing without a size to go by. `asked`: when it was
     * asked (performance.now() here), if earlier: of another read of the file that ended.
     */
    expect: (size, withinMs, deadline, asked = performance.now()) => {
      const allowed = timeLimit(withinMs)
      if (allowed === Infinity || !(Number.isFinite(size) && size > 0)) return
      const message = deadline
        ? `${path} would not arrive within ${allowed} ms of the runtime: booting the normal way is quicker`
        : `${path} would take more than ${allowed} ms to download on this line: booting the normal way is quicker`
      // judged again every RATE_WINDOW_MS while it comes: a download that slows down, or of
      // which nothing had come yet, is judged by what comes next
      const judge = () => {
        const now = performance.now()
        const left = (deadline ? asked : answeredAt) + allowed - now
        const needs = received > 0 ? ((size - received) * (now - answeredAt)) / received : left > 0 ? 0 : Infinity
        if (needs > left) giveUp(message)
        else later(judge, RATE_WINDOW_MS)
      }
      if (answeredAt === null) waiting.push(judge)
      else later(judge, answeredAt + RATE_WINDOW_MS - performance.now())
      if (!deadline) return
      const start = () => later(() => giveUp(message), asked + allowed - performance.now())
      if (fetched) start()
      else deadlines.push(start)
    },
  }
  if (limit !== Infinity) timer = setTimeout(check, limit)
  return watch
}

/**
 * The build's file at `url`: { bytes (a Uint8Array), precached }: from the service worker's
 * precache named `precache` (null: the page is not controlled) when it holds the file
 * (precached: true), otherwise fetched. Refused as 'missing' (no answer, or not 2xx), 'corrupt'
 * (the body cut short) or 'timeout' (stallWatch: nothing arrived for `stallMs`, of it or of the
 * other reads here: a stalled download is given up, a slow one or one waiting for a connection
 * is not; a read from the precache is not metered chunk by chunk, only its answer and its end;
 * or a download too slow for what expectDownload asked of it).
 */
export async function readBuildFile(url, precache, stallMs = Infinity) {
  const path = new URL(url).pathname
  const why = (error) => String(error?.message || error)
  const watch = stallWatch(path, stallMs)
  try {
    let response
    let precached = false
    try {
      downloads.set(url, watch) // expectDownload's, from now on: not once it is found precached
      response = precache ? await watch.race(precachedResponse(url, precache)) : null
      precached = response !== null
      if (precached) {
        downloads.delete(url)
        watch.unexpected()
      } else {
        watch.downloading()
      }
      response ??= await watch.race(fetch(url, { signal: watch.signal }))
      watch.answered()
    } catch (error) {
      if (error instanceof SnapshotRefused) throw error
      throw new SnapshotRefused('missing', `${path} could not be fetched: ${why(error)}`, error)
    }
    if (!response.ok) throw new SnapshotRefused('missing', `${path} answered HTTP ${response.status}`)
    // A download's chunks are seen on their way (collected natively all the same); a read from
    // the precache is local and quick (some 50 ms for all the files): only its end is seen,
    // without the stream's cost (some 15 ms of a returning learner's load, measured).
    const metered = !precached && response.body
    const body = metered ? new Response(response.body.pipeThrough(watch.meter(), { signal: watch.signal })) : response
    try {
      const bytes = new Uint8Array(await watch.race(body.arrayBuffer()))
      watch.arrived()
      return { bytes, precached }
    } catch (error) {
      if (error instanceof SnapshotRefused) throw error
      throw new SnapshotRefused('corrupt', `${path} was cut short: ${why(error)}`, error)
    }
  } finally {
    watch.end()
    if (downloads.get(url) === watch) downloads.delete(url)
  }
}

// The reads under way here (this page or this worker), by URL.
const downloads = new Map()

/**
 * What is expected of the download of `url` under way here (stallWatch's expect: readBuildFile
 * refuses it as 'timeout' when its `size` bytes would not have come within `withinMs`, judged by
 * its rate; with `deadline`, also once that time is up). Not a read from the precache.
 * `askedAt`: when it was asked, as ms since the epoch (performance.timeOrigin +
 * performance.now(), the same in a page and its workers); now unless given.
 */
export function expectDownload(url, size, withinMs, deadline = false, askedAt = performance.timeOrigin + performance.now()) {
  downloads.get(url)?.expect(size, withinMs, deadline, askedAt - performance.timeOrigin)
}

/** The bytes of readBuildFile(url, precache, stallMs). */
export async function readBytes(url, precache, stallMs = Infinity) {
  return (await readBuildFile(url, precache, stallMs)).bytes
}

/** Hex sha256 of bytes (WebCrypto, off the main thread where the engine can). */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}
