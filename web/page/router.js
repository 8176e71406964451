// The hash routes (DESIGN §8): #/ (home), #/paths, #/path/<pathId> and
// #/path/<pathId>/<moduleId>/<contentId>; parsing them, making links, and following changes.
import { render } from './render.js'
import { state } from './state.js'

export function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  if (parts[0] === 'paths') return { name: 'paths' }
  if (parts[0] === 'path' && parts[1]) {
    if (parts[2] && parts[3]) return { name: 'item', pathId: parts[1], moduleId: parts[2], contentId: parts[3] }
    return { name: 'path', pathId: parts[1] }
  }
  return { name: 'home' }
}

export const pathHref = (pathId) => `#/path/${encodeURIComponent(pathId)}`
export const itemHref = (pathId, moduleId, contentId) =>
  `#/path/${encodeURIComponent(pathId)}/${encodeURIComponent(moduleId)}/${encodeURIComponent(contentId)}`

/** Go to `hash`, or render again when it is already the current route. */
export function go(hash) {
  if (location.hash === hash) render()
  else location.hash = hash
}

/** A new route starts with fresh quiz modes and focus on its heading. */
export function followRoutes() {
  window.addEventListener('hashchange', () => {
    state.quizMode.clear()
    state.milestone = null
    state.focusHeading = true
    render()
  })
}
