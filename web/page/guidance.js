// What the page suggests next: where to continue in a path (the item last worked on that is not
// done, else the first not done), and the milestones of an action (a module or a path just
// finished), acknowledged once on the item's view and in the live region.
import { moduleProgress, pathProgress } from './content.js'
import { announce } from './focus.js'
import { tr } from './locale.js'
import { isItemDone } from './outcome.js'
import { state } from './state.js'

/** {moduleId, contentId, started} of where to continue in `path`, or null when all is done. */
export function continueTarget(snapshot, path, items) {
  const slots = path.modules.flatMap((m) => m.items.map((contentId) => ({ moduleId: m.moduleId, contentId })))
  const open = slots.filter((s) => !isItemDone(snapshot, s.contentId, items.get(s.contentId)))
  if (!open.length) return null
  const touched = (s) => snapshot.content?.[s.contentId]?.lastAttemptAt || ''
  const last = open.reduce((best, s) => (touched(s) > touched(best) ? s : best), open[0])
  const started = slots.some((s) => touched(s))
  return { ...(touched(last) ? last : open[0]), started }
}

const finished = ({ done, total }) => total > 0 && done === total

/** Whether the module and the path are finished now (call before and after an action). */
export function milestones(path, module) {
  const items = state.content.items
  return {
    module: finished(moduleProgress(state.snapshot, module, items)),
    path: finished(pathProgress(state.snapshot, path, items)),
  }
}

/** After an action: acknowledge what it finished (shown on this item's view until the route changes). */
export function acknowledge(path, module, before) {
  const now = milestones(path, module)
  if (now.path && !before.path) state.milestone = { kind: 'path', key: path.pathId, text: tr('pathFinished', { title: path.title }) }
  else if (now.module && !before.module) {
    state.milestone = { kind: 'module', key: module.moduleId, text: tr('moduleFinished', { title: module.title }) }
  } else return
  announce(state.milestone.text)
}
