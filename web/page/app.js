// The learning page's composition root: onboarding, paths -> modules -> items, lessons,
// quizzes, progress, streak, locale, sign in/out and the sync status, built only on the JS API
// of progress-client.js (DESIGN §8). Until the client is ready the page shows the cached
// snapshot and takes the learner's actions into the early-action queue (record.js), with a bar
// showing how far the client's start has got.
import { createProgressClient } from '../progress-client.js'
import { showError } from './act.js'
import { endBoot, followBoot } from './boot-progress.js'
import { wireDialogs } from './dialogs.js'
import { $ } from './dom.js'
import { cachedSnapshot } from './first-paint.js'
import { loadCourse, setLocale, tr } from './locale.js'
import { registerServiceWorkerWhenIdle } from './offline.js'
import { render, setDraw } from './render.js'
import { showQueued } from './record.js'
import { followRoutes } from './router.js'
import { ready, state } from './state.js'
import { renderHeader } from './views/header.js'
import { renderLabels } from './views/labels.js'
import { renderView } from './views/main.js'
import { renderPanel } from './views/panel.js'

if (cachedSnapshot) state.cached = cachedSnapshot
showQueued()
followBoot()

setDraw(() => {
  renderLabels()
  renderHeader()
  renderPanel({ snapshot: state.snapshot, locale: state.locale, content: state.content, ready: ready(), failed: state.failed, pendingIds: state.pendingIds })
  renderView()
})
const courseReady = loadCourse()
// Python's normal start holds the main thread for about half a second: it begins only once the
// view is drawn and has had a moment to take the learner's first click (the runtime downloads
// meanwhile). A restore from the memory snapshot, in short steps, does not wait.
const FIRST_CLICK_MS = 250
const viewDrawn = courseReady
  .catch(() => null)
  .then(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, FIRST_CLICK_MS))))

followRoutes()
window.addEventListener('online', renderHeader)
window.addEventListener('offline', renderHeader)
$('locale-select').addEventListener('change', (ev) => setLocale(ev.target.value))
$('progress-jump').addEventListener('click', () => {
  $('progress').scrollIntoView({ block: 'start' })
  $('progress-title').focus()
})
wireDialogs()
render()

try {
  // <html data-snapshot-timeout-ms>: how long a restore from the memory snapshot may take;
  // <html data-snapshot-stall-ms>: how long a file of it may go with nothing arriving;
  // <html data-snapshot-late-ms>: how long its heap may still take once the runtime is ready;
  // <html data-snapshot-line-ms>: how long its heap's body may take at the rate it comes
  const ms = (attr) => (attr?.trim() ? Number(attr) : undefined)
  const { snapshotTimeoutMs, snapshotStallMs, snapshotLateMs, snapshotLineMs } = document.documentElement.dataset
  const client = await createProgressClient({
    apiBaseUrl: '/api/v1',
    startAfter: viewDrawn,
    snapshotTimeoutMs: ms(snapshotTimeoutMs),
    snapshotStallMs: ms(snapshotStallMs),
    snapshotLateMs: ms(snapshotLateMs),
    snapshotLineMs: ms(snapshotLineMs),
  })
  // No await between the client resolving (it has taken in every queued action) and here, so
  // that no click can be queued in between: from now on actions go to the client.
  state.client = client
  state.pendingIds = new Set()
  state.snapshot = client.snapshot
  state.status = client.status
  client.subscribe((snapshot, status) => {
    state.snapshot = snapshot
    state.status = status
    render()
  })
  await courseReady
  render()
  window.progressClient = client
  document.documentElement.dataset.progressReady = 'true'
  performance.mark?.('progress-ready')
  endBoot()
  // Now that the runtime is in the HTTP cache, the service worker's precache takes it from there
  // instead of downloading it a second time; from the next load on, the page opens offline.
  registerServiceWorkerWhenIdle()
} catch (error) {
  // progress-client.js shows load failures on the page and in the console; anything else here
  state.failed = true
  endBoot()
  if (!document.documentElement.dataset.progressError) {
    document.documentElement.dataset.progressError = error?.message || String(error)
    console.error('Learning progress could not start:', error)
  }
  showError(tr('failure.start')) // the details are in the console and in dataset.progressError
  render()
}
