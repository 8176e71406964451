// Every failure a learner can meet, in plain words of the page's locale: a failed sign-in, a
// sync that failed (by the status's errorCode and errorStatus), a full device, unreadable saved
// data. Words are chosen from codes and kinds, never from a message's text; the details (codes,
// messages, stacks) go to the console only.
import { tr } from './locale.js'
import { state } from './state.js'

/** "30 seconds", "2 minutes" in the page's locale. */
export function waitText(ms) {
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  const [value, unit] = seconds < 90 ? [seconds, 'second'] : [Math.ceil(seconds / 60), 'minute']
  return new Intl.NumberFormat(state.locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value)
}

/** Why signing in failed (an Error from client.signIn: code, status, retryAfterMs). */
export function signInFailureText(error) {
  console.warn('Learning progress: sign-in failed', error)
  const code = error?.code
  const status = error?.status
  if (code === 'invalid_credentials') return tr('failure.credentials')
  if (code === 'rate_limited' || status === 429) {
    return error?.retryAfterMs ? tr('failure.tooMany', { wait: waitText(error.retryAfterMs) }) : tr('failure.tooManyNoWait')
  }
  if (code === 'network') return tr('failure.unreachable')
  if (code === 'storage_full') return tr('failure.deviceFull')
  if (status === 401) return tr('failure.credentials')
  if (status >= 500 || status === 408) return tr('failure.server')
  return tr('failure.signIn')
}

/** The status line of a failed sync, or of a full device (state 'error'). */
export function syncFailureText(status) {
  const n = status.pending || 0
  const code = status.errorCode
  const http = status.errorStatus
  if (code === 'storage_full') return tr('status.storageFull')
  if (code === 'network') return tr('status.unreachable', { n })
  if (code === 'quota_exceeded') return tr('status.quota', { n })
  if (code === 'rate_limited' || http === 429) return tr('status.rateLimited', { n })
  if (http >= 500 || http === 408) return tr('status.serverProblem', { n })
  return tr('status.error', { n })
}

/** The storage banner: the device is full, or saved data could not be read (kept aside). */
export function storageWarningText(status) {
  if (!status?.storageWarning) return ''
  return status.errorCode === 'storage_full' ? tr('warning.storageFull') : tr('warning.unreadable')
}
