// The lesson area (<main id="view">): the view of the current route (home is the active path,
// or the onboarding), swapped in with keyboard focus kept on the same control.
import { $, h } from '../dom.js'
import { focusKey, restoreFocus } from '../focus.js'
import { tr } from '../locale.js'
import { parseRoute } from '../router.js'
import { state } from '../state.js'
import { itemView, recordOpened } from './item.js'
import { heading } from './parts.js'
import { onboardingView, pathView, pathsView } from './paths.js'

function notFoundView() {
  return h('section', { dataset: { testid: 'not-found' } }, heading(tr('notFound')), h('a', { href: '#/' }, tr('home')))
}

function homeView() {
  const snapshot = state.snapshot
  const pathId = snapshot.activePathId || (snapshot.onboarding?.completed ? snapshot.onboarding.pathId : null)
  const path = pathId && state.content.pathById.get(pathId)
  return snapshot.onboarding?.completed && path ? pathView(path) : onboardingView()
}

/** The view of `route` and what to do once it is on screen. */
function viewOf(route) {
  if (route.name === 'home') return { view: homeView() }
  if (route.name === 'paths') return { view: pathsView() }
  const path = state.content.pathById.get(route.pathId)
  if (!path) return { view: notFoundView() }
  if (route.name === 'path') return { view: pathView(path) }
  const module = path.modules.find((m) => m.moduleId === route.moduleId)
  const item = module && module.items.includes(route.contentId) && state.content.items.get(route.contentId)
  if (!item) return { view: notFoundView() }
  return { view: itemView(path, module, item), afterRender: () => recordOpened(route, item) }
}

export function renderView() {
  const main = $('view')
  if (state.contentError) {
    main.replaceChildren(h('section', { className: 'error' }, tr('contentFailed')))
    return
  }
  if (!state.content) return
  const route = parseRoute()
  if (route.name !== 'item') state.opened = null
  const { view, afterRender } = viewOf(route)
  // Keep keyboard focus on the same control across re-renders.
  const focused = focusKey(main)
  const signedOut = state.signedOut && !state.status?.userId
  main.replaceChildren(
    ...(signedOut ? [h('p', { className: 'card note', dataset: { testid: 'signed-out-note' } }, tr('signedOutNote'))] : []),
    view,
  )
  if (state.focusHeading) {
    state.focusHeading = false
    main.querySelector('.view-heading')?.focus()
  } else {
    restoreFocus(main, focused)
  }
  if (afterRender) afterRender()
}
