// The learning-progress client for pages: boots Pyodide from this dist (never a CDN), loads
// pyclient, and exposes a small JS API (DESIGN §8) over the sync engine. The Python half is
// pyclient.bridge (localStorage, fetch, Web Locks, timers and DOM events); this file only
// boots it and turns its JSON into plain objects for page code.
//
//   import { createProgressClient } from './progress-client.js'
//   const client = await createProgressClient({ apiBaseUrl: '/api/v1' })

export const STORAGE_KEYS = Object.freeze({
  events: 'learning_progress_events',
  snapshot: 'learning_progress_snapshot',
  clientId: 'learning_progress_client_id',
  session: 'learning_progress_session',
})
export const STORAGE_FORMAT = 1

const RUNTIME_DIR = new URL('./pyodide/', import.meta.url)
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

/** The signed-in user's id from the stored session, or null (guest). */
export function readSessionUserId(storage = globalThis.localStorage) {
  try {
    const value = JSON.parse(storage.getItem(STORAGE_KEYS.session) || 'null')
    if (value && value.v === 1 && typeof value.userId === 'string' && value.userId) return value.userId
  } catch {
    // an unreadable session is no session
  }
  return null
}

/**
 * The cached snapshot (plain JS, no Pyodide) of whoever is signed in (the guest otherwise), or
 * null when there is none or it is unreadable.
 */
export function readCachedSnapshot(storage = globalThis.localStorage) {
  try {
    const user = readSessionUserId(storage)
    const raw = storage.getItem(user ? `${STORAGE_KEYS.snapshot}:${user}` : STORAGE_KEYS.snapshot)
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
  const { loadPyodide } = await import(new URL('pyodide.mjs', RUNTIME_DIR).href)
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
  const bridge = pyodide.pyimport('pyclient.bridge')
  performance.mark?.('pyclient-ready')
  return { pyodide, bridge }
}

// A Python exception as a JS error: its last line (`ValueError: ...`), not the traceback.
function pythonMessage(error) {
  const text = error && error.message ? String(error.message) : String(error)
  return text.split('\n').filter(Boolean).pop() || text
}

/**
 * Boot Pyodide and pyclient, load the stored log (the signed-in user's when a session is
 * stored), and resolve with the client once its snapshot is ready. Rejects (and shows the error
 * on the page) when anything fails to load.
 */
export async function createProgressClient({ apiBaseUrl = '/api/v1' } = {}) {
  let driver
  try {
    const { bridge } = await bootPython()
    driver = await bridge.start(apiBaseUrl)
    bridge.destroy?.()
  } catch (error) {
    const err = error instanceof LoadError ? error : new LoadError(error?.message || String(error), error)
    reportLoadFailure(err)
    throw err
  }
  performance.mark?.('log-reduced')
  const listeners = new Set()
  let snapshot = JSON.parse(driver.snapshot_json())
  let status = JSON.parse(driver.status_json())
  let lastWarning = status.storageWarning

  const onChange = (snapshotJson, statusJson) => {
    if (snapshotJson != null) snapshot = JSON.parse(snapshotJson)
    status = JSON.parse(statusJson)
    if (status.storageWarning && status.storageWarning !== lastWarning) {
      console.warn(`Learning progress: ${status.storageWarning}`)
    }
    lastWarning = status.storageWarning
    for (const fn of listeners) {
      try {
        fn(snapshot, status)
      } catch (e) {
        console.error('Learning progress: a subscriber failed', e)
      }
    }
  }
  driver.set_listener(onChange)
  if (lastWarning) console.warn(`Learning progress: ${lastWarning}`)

  // Synchronous engine calls: a Python error becomes a TypeError naming the event type.
  const record = (type, call) => {
    try {
      return call()
    } catch (e) {
      throw new TypeError(`invalid ${type} event: ${pythonMessage(e)}`)
    }
  }
  // Async engine calls: a Python error becomes an Error with the Python message.
  const run = async (call) => {
    try {
      const out = await call()
      status = JSON.parse(driver.status_json())
      return out
    } catch (e) {
      throw new Error(pythonMessage(e))
    }
  }

  const client = {
    apiBaseUrl,
    clientId: driver.client_id,
    get snapshot() {
      return snapshot
    },
    get status() {
      return status
    },
    subscribe(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    recordProgress({ contentId, status: st, score, contentVersion, interaction } = {}) {
      const args = { contentId, status: st, score, contentVersion, interaction }
      return record('content.progressed', () => driver.record_progress(JSON.stringify(args)))
    },
    completeOnboarding(pathId) {
      return record('onboarding.completed', () => driver.complete_onboarding(pathId))
    },
    resetOnboarding() {
      return record('onboarding.reset', () => driver.reset_onboarding())
    },
    setActivePath(pathId) {
      return record('activePath.set', () => driver.set_active_path(pathId ?? null))
    },
    resetProgress() {
      return record('progress.reset', () => driver.reset_progress())
    },
    /** Sign in against the API (POST {apiBaseUrl}/auth/login); resolves with the status. */
    signIn({ email, password } = {}) {
      return run(() => driver.sign_in(String(email ?? ''), String(password ?? ''))).then(() => status)
    },
    /** Back to the guest log on this device; the user's data stays stored for the next sign-in. */
    async signOut() {
      await run(() => driver.sign_out())
      return status
    },
    /** Manual sync (also retries events held by a permanent error); resolves with the status. */
    async sync() {
      await run(() => driver.sync())
      return status
    },
    /** Stop timers and listeners (tests, page teardown). */
    close() {
      driver.close()
      listeners.clear()
    },
  }
  return client
}
