// How far the client's start has got, as a thin determinate bar at the top of the window
// (role=progressbar, so assistive technology reads it too): each runtime file that has arrived
// and each step of the start (the marks progress-client.js sets) moves it forward. It floats
// above the page (fixed position), so it never shifts the layout, and it leaves once the client
// is ready or has failed.
import { SNAPSHOT_DIR } from '../build-files.js'
import { $ } from './dom.js'
import { tr } from './locale.js'

// [what, weight]: files by how long they take to arrive (the memory snapshot's heap, when the
// build has one, is the largest), sharing the bar up to the first step; then the steps.
const FILES = [
  [/pyodide\.asm\.mjs$/, 6],
  [/pyodide\.asm\.wasm$/, 38],
  [/python_stdlib\.zip$/, 14],
  [/pydantic_core-[^/]*\.whl$/, 10],
  [/pydantic-[^/]*\.whl$/, 6],
  [/pyclient-[^/]*\.whl$/, 2],
  ...(SNAPSHOT_DIR ? [[/\/snapshot-[0-9a-f]+\/heap\.bin$/, 60]] : []),
]
const WEIGHT = FILES.reduce((sum, [, weight]) => sum + weight, 0)
// (a returning learner's snapshot files come from the precache, which sets no resource entry)
const MARKS = { 'memory-snapshot-fetched': 80, 'pyodide-ready': 84, 'pyclient-ready': 92, 'log-reduced': 97 }
const START = 4
const FILES_SHARE = 76 // of the bar, from START to the first step's mark

let shown = 0
const seen = new Set() // the FILES patterns whose file has arrived
let arrived = 0 // their shares of the bar
let observer = null

function show(percent) {
  shown = Math.max(shown, Math.min(100, Math.round(percent)))
  const bar = $('boot-progress')
  if (!bar) return
  bar.setAttribute('aria-valuenow', String(shown))
  bar.style.setProperty('--done', `${shown}%`)
}

function onEntries(list) {
  for (const entry of list.getEntries()) {
    if (entry.entryType === 'mark' && entry.name in MARKS) {
      show(MARKS[entry.name])
      continue
    }
    const file = FILES.find(([pattern]) => pattern.test(new URL(entry.name, location.href).pathname))
    if (file && !seen.has(file[0])) {
      seen.add(file[0])
      arrived += file[1]
      show(START + (arrived * FILES_SHARE) / WEIGHT)
    }
  }
}

/** Start following the client's start (call once, as early as possible). */
export function followBoot() {
  const bar = $('boot-progress')
  if (!bar || observer || typeof PerformanceObserver === 'undefined') return
  bar.setAttribute('aria-label', tr('booting'))
  bar.hidden = false
  show(START)
  observer = new PerformanceObserver(onEntries)
  for (const type of ['resource', 'mark']) {
    try {
      observer.observe({ type, buffered: true })
    } catch {
      // an engine without this entry type: the steps it has still move the bar
    }
  }
}

/** The client is ready (or failed): fill the bar and let it go. */
export function endBoot() {
  observer?.disconnect()
  show(100)
  const bar = $('boot-progress')
  if (bar) bar.dataset.done = 'true'
}
