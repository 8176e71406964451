// The learning-progress client for pages: boots Pyodide from this dist (never a CDN), loads
// pyclient, and exposes a small JS API (DESIGN §8). Until the sync engine exists, events go to
// the guest log in localStorage and are reduced by pyclient; the engine plugs in behind the
// same API later.
//
//   import { createProgressClient } from './progress-client.js'
//   const client = await createProgressClient({ apiBaseUrl: '/api/v1' })

export const STORAGE_KEYS = Object.freeze({
  events: 'learning_progress_events',
  snapshot: 'learning_progress_snapshot',
  clientId: 'learning_progress_client_id',
})
export const STORAGE_FORMAT = 1

const RUNTIME_DIR = new URL('./pyodide/', import.meta.url)
const BRIDGE_URL = new URL('./progress_bridge.py', import.meta.url)
const PACKAGES = ['pydantic', 'pyclient']

/** A fresh empty snapshot, the shape of LearningGuestProgress. */
export function emptySnapshot() {
  return {
    version: 1,
    content: {},
    onboarding: { completed: false, pathId: null, completedAt: null },
    activePathId: null,
    streak: { current: 0, longest: 0, lastActivityDate: null },
    lastUpdated: null,
  }
}

/** The cached snapshot (plain JS, no Pyodide), or null when there is none or it is unreadable. */
export function readCachedSnapshot(storage = globalThis.localStorage) {
  try {
    const raw = storage.getItem(STORAGE_KEYS.snapshot)
    if (!raw) return null
    const value = JSON.parse(raw)
    if (value && value.v === STORAGE_FORMAT && value.snapshot && typeof value.snapshot === 'object') {
      return value.snapshot
    }
  } catch {
    // a broken cache is only a cache: the log is recomputed below
  }
  return null
}

class LoadError extends Error {
  constructor(message, cause) {
    super(message, cause ? { cause } : undefined)
    this.name = 'ProgressClientLoadError'
  }
}

function reportLoadFailure(error) {
  const message = error && error.message ? error.message : String(error)
  document.documentElement.dataset.progressError = message
  console.error(`Learning progress could not start: ${message}`, error)
  const box = document.getElementById('progress-error')
  if (box) {
    box.textContent = `Learning progress could not start: ${message}`
    box.hidden = false
  }
}

// After a failed loadPackage: say which shipped file is missing or does not match its sha256.
async function diagnose(pyodide) {
  const lockUrl = new URL('pyodide-lock.json', RUNTIME_DIR)
  const lock = await (await fetch(lockUrl, { cache: 'no-store' })).json()
  const causes = []
  for (const [name, pkg] of Object.entries(lock.packages)) {
    if (name in pyodide.loadedPackages) continue
    const response = await fetch(new URL(pkg.file_name, RUNTIME_DIR), { cache: 'no-store' })
    if (!response.ok) {
      causes.push(`${pkg.file_name} is missing from the dist (HTTP ${response.status})`)
      continue
    }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await response.arrayBuffer()))
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
    if (hex !== pkg.sha256) causes.push(`${pkg.file_name} does not match its sha256 in pyodide-lock.json`)
  }
  return causes
}

async function bootPython() {
  const [{ loadPyodide }, bridgeSource] = await Promise.all([
    import(new URL('pyodide.mjs', RUNTIME_DIR).href),
    fetch(BRIDGE_URL).then((r) => {
      if (!r.ok) throw new LoadError(`${BRIDGE_URL.pathname} answered ${r.status}`)
      return r.text()
    }),
  ])
  const pyodide = await loadPyodide({
    indexURL: RUNTIME_DIR.href,
    // absolute URL (DESIGN §7); wheels sit beside it, and the CDN fallback is this dir too
    lockFileURL: new URL('pyodide-lock.json', RUNTIME_DIR).href,
    packageBaseUrl: RUNTIME_DIR.href,
    packages: PACKAGES, // fetched and installed while the interpreter boots
  })
  performance.mark?.('pyodide-ready')
  // A no-op when the packages loaded during boot; otherwise it retries and reports why.
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
  pyodide.FS.writeFile('/home/pyodide/progress_bridge.py', bridgeSource)
  pyodide.runPython('import sys; sys.path.insert(0, "/home/pyodide")')
  const bridge = pyodide.pyimport('progress_bridge')
  performance.mark?.('pyclient-ready')
  return { pyodide, bridge }
}

function readStoredLog(storage) {
  // -> { events: [...], raw, corrupt: bool }
  const raw = storage.getItem(STORAGE_KEYS.events)
  if (raw === null) return { events: [], raw, corrupt: false }
  try {
    const value = JSON.parse(raw)
    if (Array.isArray(value)) return { events: value, raw, corrupt: false } // unversioned: migrate
    if (value && value.v === STORAGE_FORMAT && Array.isArray(value.events)) {
      return { events: value.events, raw, corrupt: false }
    }
  } catch {
    // fall through
  }
  return { events: [], raw, corrupt: true }
}

function setAside(storage, key, raw) {
  const aside = `${key}:corrupt:${new Date().toISOString()}`
  try {
    storage.setItem(aside, raw)
    console.warn(`Learning progress: unreadable data in ${key} was kept aside as ${aside}.`)
  } catch (e) {
    console.warn(`Learning progress: unreadable data in ${key} could not be kept aside (${e.name}).`)
  }
  return aside
}

function getClientId(storage) {
  const raw = storage.getItem(STORAGE_KEYS.clientId)
  if (raw) {
    try {
      const value = JSON.parse(raw)
      if (value && value.v === STORAGE_FORMAT && typeof value.clientId === 'string' && value.clientId) {
        return value.clientId
      }
    } catch {
      // a bare id, written before stored values had versions: keep it
      if (raw.length <= 128 && !/[\s{}[\]"]/.test(raw)) return raw
    }
    setAside(storage, STORAGE_KEYS.clientId, raw)
  }
  const clientId = crypto.randomUUID()
  try {
    storage.setItem(STORAGE_KEYS.clientId, JSON.stringify({ v: STORAGE_FORMAT, clientId }))
  } catch {
    // quota: the id still works for this tab
  }
  return clientId
}

function isoMillis(ms) {
  return new Date(ms).toISOString() // UTC, three fractional digits, `Z`
}

/**
 * Boot Pyodide and pyclient, load the stored log, and resolve with the client once the
 * recomputed snapshot is ready. Rejects (and shows the error on the page) when anything fails.
 */
export async function createProgressClient({ apiBaseUrl = '/api/v1', storage = globalThis.localStorage } = {}) {
  let booted
  try {
    booted = await bootPython()
  } catch (error) {
    const err = error instanceof LoadError ? error : new LoadError(error?.message || String(error), error)
    reportLoadFailure(err)
    throw err
  }
  const { bridge } = booted
  const log = bridge.GuestLog()
  const clientId = getClientId(storage)
  const listeners = new Set()
  let events = [] // the stored log as plain objects, in insertion order
  let ids = new Set()
  let lastRaw = null // the value of the events key as we last read or wrote it
  let lastStamp = 0 // ms of this client's latest occurredAt: new events never go earlier
  let snapshot = emptySnapshot()
  let storageWarning = null

  const status = () => ({
    state: storageWarning ? 'error' : 'local',
    pending: events.length,
    lastSuccessfulSyncAt: null,
    errorMessage: null,
    storageWarning,
    userId: null,
  })
  const notify = () => {
    const s = status()
    for (const fn of listeners) {
      try {
        fn(snapshot, s)
      } catch (e) {
        console.error('Learning progress: a subscriber failed', e)
      }
    }
  }
  const noteStamps = (list) => {
    for (const e of list) {
      if (e && e.clientId === clientId) {
        const ms = Date.parse(e.occurredAt)
        if (ms > lastStamp) lastStamp = ms
      }
    }
  }
  const setSnapshot = (canonical) => {
    snapshot = JSON.parse(canonical)
    try {
      storage.setItem(STORAGE_KEYS.snapshot, `{"v":${STORAGE_FORMAT},"snapshot":${canonical}}`)
    } catch (e) {
      noteStorageError(e)
    }
  }
  const noteStorageError = (e) => {
    storageWarning =
      e && e.name === 'QuotaExceededError'
        ? 'Browser storage is full: new progress is kept in this tab only, and saved again on the next change.'
        : `Progress could not be saved in this browser: ${e && e.message}`
    console.warn(`Learning progress: ${storageWarning}`)
  }
  // Union whatever another tab stored into memory; returns true when something was new.
  const absorbStored = () => {
    const stored = readStoredLog(storage)
    if (stored.raw === lastRaw) return false
    lastRaw = stored.raw
    if (stored.corrupt) {
      setAside(storage, STORAGE_KEYS.events, stored.raw)
      return false
    }
    const fresh = stored.events.filter((e) => e && !ids.has(e.eventId))
    if (!fresh.length) return false
    // validate through Python before taking them in (bad entries: kept aside, not dropped)
    const result = JSON.parse(log.load(JSON.stringify([...events, ...fresh])))
    const rejected = new Set(result.rejected.map((i) => i - events.length))
    const good = fresh.filter((_, i) => !rejected.has(i))
    if (rejected.size) setAside(storage, STORAGE_KEYS.events, JSON.stringify(fresh.filter((_, i) => rejected.has(i))))
    events = events.concat(good)
    for (const e of good) ids.add(e.eventId)
    noteStamps(good)
    setSnapshot(result.snapshot)
    return true
  }
  const persist = () => {
    const raw = JSON.stringify({ v: STORAGE_FORMAT, events })
    try {
      storage.setItem(STORAGE_KEYS.events, raw)
      lastRaw = raw
      storageWarning = null
    } catch (e) {
      noteStorageError(e)
    }
  }

  // Initial load: the stored log, validated and reduced by pyclient.
  {
    const stored = readStoredLog(storage)
    lastRaw = stored.raw
    if (stored.corrupt) setAside(storage, STORAGE_KEYS.events, stored.raw)
    const text = JSON.stringify(stored.events)
    performance.mark?.('log-read')
    const result = JSON.parse(log.load(text))
    performance.mark?.('log-reduced')
    if (result.rejected.length) {
      const rejected = new Set(result.rejected)
      setAside(storage, STORAGE_KEYS.events, JSON.stringify(stored.events.filter((_, i) => rejected.has(i))))
      events = stored.events.filter((_, i) => !rejected.has(i))
    } else {
      events = stored.events
    }
    ids = new Set(events.map((e) => e.eventId))
    noteStamps(events)
    setSnapshot(result.snapshot)
  }

  const record = (type, payload) => {
    const now = Date.now()
    lastStamp = Math.max(now, lastStamp + 1) // monotonic per client, even if the clock steps back
    const event = { eventId: crypto.randomUUID(), occurredAt: isoMillis(lastStamp), clientId, type }
    if (payload !== undefined) event.payload = payload
    const text = JSON.stringify([event])
    try {
      bridge.validate_new_events(text)
    } catch (e) {
      throw new TypeError(`invalid ${type} event: ${e.message.split('\n').filter(Boolean).pop()}`)
    }
    absorbStored() // another tab may have written since: union first, never lose its events
    events.push(event)
    ids.add(event.eventId)
    setSnapshot(log.merge(text))
    persist()
    notify()
    return event.eventId
  }

  const onStorage = (ev) => {
    if (ev.storageArea !== storage || ev.key !== STORAGE_KEYS.events) return
    if (absorbStored()) notify()
  }
  if (typeof window !== 'undefined') window.addEventListener('storage', onStorage)

  const notAvailable = (what) => Promise.reject(new Error(`${what} is not available yet: the sync engine is not built`))

  const client = {
    apiBaseUrl,
    clientId,
    get snapshot() {
      return snapshot
    },
    get status() {
      return status()
    },
    subscribe(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    recordProgress({ contentId, status: st, score, contentVersion, interaction } = {}) {
      const payload = { contentId, status: st }
      if (score !== undefined && score !== null) payload.score = score
      if (contentVersion !== undefined && contentVersion !== null) payload.contentVersion = contentVersion
      if (interaction !== undefined && interaction !== null) payload.interaction = interaction
      return record('content.progressed', payload)
    },
    completeOnboarding(pathId) {
      return record('onboarding.completed', { pathId })
    },
    resetOnboarding() {
      return record('onboarding.reset')
    },
    setActivePath(pathId) {
      return record('activePath.set', { pathId: pathId ?? null })
    },
    resetProgress() {
      return record('progress.reset')
    },
    signIn() {
      return notAvailable('signIn')
    },
    signOut() {
      return notAvailable('signOut')
    },
    async sync() {
      // Guest mode: nothing to send; pick up what other tabs stored and retry a failed save.
      absorbStored()
      if (storageWarning) persist()
      notify()
      return status()
    },
    /** Stop listening to other tabs (tests, page teardown). */
    close() {
      if (typeof window !== 'undefined') window.removeEventListener('storage', onStorage)
      listeners.clear()
    },
  }
  return client
}
