// One item of a path: a lesson (its text, "Mark complete") or a quiz (quiz.js), with the
// breadcrumb, its status, a module or path just finished, and the previous/next item of the path
// (Next is the primary button once the item is done). Opening a lesson that was not
// started records it as in progress, once per visit.
import { act } from '../act.js'
import { h } from '../dom.js'
import { announce, focusFirst } from '../focus.js'
import { acknowledge, milestones } from '../guidance.js'
import { tr } from '../locale.js'
import { itemHref, pathHref } from '../router.js'
import { outcomeOf } from '../outcome.js'
import { recordProgress } from '../record.js'
import { render } from '../render.js'
import { state } from '../state.js'
import { STATUS, isDoneStatus, itemStatus } from '../../snapshot.js'
import { heading } from './parts.js'
import { quizBody } from './quiz.js'

function slotsOf(path) {
  return path.modules.flatMap((m) => m.items.map((contentId) => ({ moduleId: m.moduleId, contentId })))
}

/** Record the lesson completed; focus goes on to the next step (the button is gone). */
function markComplete(item, place) {
  const before = milestones(place.path, place.module)
  act(() => recordProgress({ contentId: item.contentId, status: STATUS.completed, contentVersion: item.contentVersion }))
  render()
  focusFirst('item-next', 'item-back', 'lesson-done')
  announce(tr('announce.lessonDone'))
  acknowledge(place.path, place.module, before)
  render()
}

function lessonBody(item, status, place) {
  return h(
    'div',
    {},
    h('div', { className: 'lesson-body' }, item.body.map((p) => h('p', {}, p))),
    h(
      'div',
      { className: 'lesson-actions' },
      isDoneStatus(status)
        ? h('p', { className: 'done-note', tabindex: '-1', dataset: { testid: 'lesson-done' } }, tr('lessonDone'))
        : h('button', {
            type: 'button',
            dataset: { testid: 'mark-complete', key: 'mark-complete' },
            onclick: () => markComplete(item, place),
          }, tr('markComplete')),
    ),
  )
}

export function itemView(path, module, item) {
  const snapshot = state.snapshot
  const status = itemStatus(snapshot, item.contentId)
  const outcome = outcomeOf(snapshot, item.contentId, item)
  const slots = slotsOf(path)
  const at = slots.findIndex((s) => s.moduleId === module.moduleId && s.contentId === item.contentId)
  const prev = slots[at - 1]
  const next = slots[at + 1]
  const place = { path, module }
  const body = item.kind === 'quiz' ? quizBody(item, status, place) : lessonBody(item, status, place)
  const done = outcome === STATUS.completed || outcome === STATUS.passed
  const milestone = state.milestone && [path.pathId, module.moduleId].includes(state.milestone.key) ? state.milestone : null
  return h(
    'section',
    { dataset: { testid: 'item-view', contentId: item.contentId, kind: item.kind, status } },
    h(
      'nav',
      { className: 'crumbs', 'aria-label': tr('breadcrumb') },
      h('a', { href: pathHref(path.pathId), dataset: { testid: 'back-to-path' } }, path.title),
      h('span', { 'aria-hidden': 'true' }, '›'),
      h('span', {}, module.title),
    ),
    h('p', { className: 'kind', style: 'margin:0' }, tr(item.kind)),
    heading(item.title, 'item-title'),
    h(
      'p',
      { className: `item-status status-${outcome}`, dataset: { testid: 'item-status', outcome } },
      tr(`itemStatus.${outcome}`),
      state.pendingIds.has(item.contentId)
        ? h('span', { className: 'pending', dataset: { testid: 'item-pending' } }, ` · ${tr('saving')}`)
        : null,
    ),
    body,
    milestone ? h('p', { className: 'milestone', dataset: { testid: `${milestone.kind}-finished` } }, milestone.text) : null,
    h(
      'nav',
      { className: 'pager', 'aria-label': tr('itemsNav') },
      prev
        ? h('a', { className: 'button secondary', href: itemHref(path.pathId, prev.moduleId, prev.contentId), dataset: { testid: 'item-prev' } }, `← ${tr('previous')}`)
        : h('span'),
      next
        ? h('a', { className: done ? 'button primary' : 'button secondary', href: itemHref(path.pathId, next.moduleId, next.contentId), dataset: { testid: 'item-next' } }, `${tr('next')} →`)
        : h('a', { className: done ? 'button primary' : 'button secondary', href: pathHref(path.pathId), dataset: { testid: 'item-back' } }, tr('back', { title: path.title })),
    ),
  )
}

/** After the item is on screen: a lesson not started yet is now in progress (once per visit). */
export function recordOpened(route, item) {
  const key = `${route.pathId}/${route.moduleId}/${route.contentId}`
  if (state.opened === key) return
  state.opened = key
  if (item.kind === 'lesson' && itemStatus(state.snapshot, item.contentId) === STATUS.notStarted) {
    act(() => recordProgress({ contentId: item.contentId, status: STATUS.inProgress, contentVersion: item.contentVersion }))
  }
}
