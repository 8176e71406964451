// The page's writes: through the client once it is ready, and before that into the early-action
// queue (../early-actions.js), so that a click never waits for Python. Queued actions show at
// once, laid over the cached snapshot and marked as saving, until the client's snapshot (which
// has taken them in) replaces the preview.
import { previewQueued, queueAction, queuedActions } from '../early-actions.js'
import { readSessionUserId } from '../progress-client.js'
import { render } from './render.js'
import { state } from './state.js'

/** Show the queued actions of whoever is signed in (the guest otherwise) over the cached snapshot. */
export function showQueued() {
  const user = readSessionUserId()
  const events = queuedActions()
    .filter((action) => action.userId === user)
    .map((action) => action.event)
  const { snapshot, pendingIds } = previewQueued(state.cached, events)
  state.snapshot = snapshot
  state.pendingIds = pendingIds
}

function queue(type, payload) {
  const eventId = queueAction(type, payload)
  showQueued()
  render()
  return eventId
}

/** { contentId, status, score?, contentVersion?, interaction? } as recordProgress takes it. */
export function recordProgress({ contentId, status, score, contentVersion, interaction }) {
  if (state.client) return state.client.recordProgress({ contentId, status, score, contentVersion, interaction })
  const payload = { contentId, status }
  if (score !== undefined && score !== null) payload.score = score
  if (contentVersion !== undefined && contentVersion !== null) payload.contentVersion = contentVersion
  if (interaction !== undefined && interaction !== null) payload.interaction = interaction
  return queue('content.progressed', payload)
}

export function setActivePath(pathId) {
  if (state.client) return state.client.setActivePath(pathId)
  return queue('activePath.set', { pathId: pathId ?? null })
}

/** The first path chosen: onboarding done, and that path active. */
export function choosePath(pathId) {
  if (state.client) {
    state.client.completeOnboarding(pathId)
    return state.client.setActivePath(pathId)
  }
  queueAction('onboarding.completed', { pathId })
  return queue('activePath.set', { pathId })
}
