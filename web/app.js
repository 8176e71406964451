// Page code: start the progress client, render its snapshot, wire the demo controls.
import { createProgressClient } from './progress-client.js'

const stateLine = document.getElementById('progress-state')

function describe(status) {
  if (status.storageWarning) return status.storageWarning
  switch (status.state) {
    case 'synced': return 'All progress saved.'
    case 'syncing': return 'Saving…'
    case 'offline': return 'Offline: progress is kept on this device.'
    case 'session_expired': return 'Your session expired: sign in again to sync.'
    case 'error': return status.errorMessage || 'Progress could not be saved.'
    default: return 'Progress is kept on this device.'
  }
}

function show(snapshot, status) {
  window.renderProgress(snapshot, false)
  stateLine.textContent = describe(status)
  stateLine.dataset.state = status.state
}

try {
  const client = await createProgressClient({ apiBaseUrl: '/api/v1' })
  show(client.snapshot, client.status)
  client.subscribe(show)

  const form = document.getElementById('record-form')
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const data = new FormData(form)
    const score = data.get('score')
    try {
      client.recordProgress({
        contentId: String(data.get('contentId')).trim(),
        status: String(data.get('status')),
        score: score === '' ? undefined : Number(score),
      })
    } catch (e) {
      stateLine.textContent = e.message
    }
  })
  document.getElementById('onboard-button').addEventListener('click', () => client.completeOnboarding('basics'))
  document.getElementById('reset-button').addEventListener('click', () => client.resetProgress())
  for (const b of document.querySelectorAll('button')) b.disabled = false

  window.progressClient = client
  document.documentElement.dataset.progressReady = 'true'
  if (performance.mark) performance.mark('progress-ready')
} catch (error) {
  // progress-client.js shows load failures on the page and in the console; anything else here
  if (!document.documentElement.dataset.progressError) {
    document.documentElement.dataset.progressError = error?.message || String(error)
    console.error('Learning progress could not start:', error)
    const box = document.getElementById('progress-error')
    box.textContent = `Learning progress could not start: ${error?.message || error}`
    box.hidden = false
  }
  stateLine.textContent = 'Learning progress is unavailable.'
  document.getElementById('progress').classList.remove('loading')
}
