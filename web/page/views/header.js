// The header and banners: the sync status line (with its retry and sign-in buttons), who is
// signed in, the storage warning and the offline banner.
import { $ } from '../dom.js'
import { storageWarningText, syncFailureText } from '../failures.js'
import { tr } from '../locale.js'
import { readSessionUserId } from '../../progress-client.js'
import { savedEmail } from '../preferences.js'
import { ready, state } from '../state.js'

function statusLine(status) {
  if (state.failed) return tr('unavailable')
  if (!status) return tr('status.loading')
  const n = status.pending || 0
  switch (status.state) {
    case 'synced':
      return n ? tr('status.pending', { n }) : tr('status.synced')
    case 'syncing':
      return tr('status.syncing')
    case 'offline':
      return n ? tr('status.offline', { n }) : tr('status.offlineNone')
    case 'session_expired':
      return tr('status.session_expired')
    case 'error':
      return syncFailureText(status) // a full device: the banner says more
    default: // local
      if (status.userId) return n ? tr('status.pending', { n }) : tr('status.synced')
      return tr('status.local')
  }
}

export function renderHeader() {
  const status = state.status
  const box = $('sync-status')
  box.dataset.state = state.failed ? 'unavailable' : status ? status.state : 'loading'
  box.dataset.pending = String(status?.pending ?? 0)
  box.dataset.signedIn = status?.userId ? 'true' : 'false'
  $('progress-state').textContent = statusLine(status)
  $('sync-retry').hidden = !(status && status.state === 'error')
  $('session-sign-in').hidden = !(status && status.state === 'session_expired')

  const userId = status ? status.userId : readSessionUserId() // before the client: the stored session
  const signedIn = !!userId
  const who = savedEmail() || userId
  const label = $('account-label')
  label.textContent = signedIn ? tr('signedInAs', { who }) : tr('guest')
  label.dataset.userId = userId || ''
  label.dataset.guest = signedIn ? 'false' : 'true'
  label.title = label.textContent // shown whole on hover when the room kept for it cuts it
  $('sign-in-open').hidden = signedIn
  $('sign-in-open').disabled = !ready()
  $('sign-out').hidden = !signedIn

  const warning = $('storage-warning')
  warning.hidden = !status?.storageWarning
  warning.textContent = storageWarningText(status)

  const offline = $('offline-banner')
  offline.hidden = navigator.onLine
  offline.textContent = tr('offlineBanner')
}
