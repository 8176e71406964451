// The views of paths: the onboarding (choose a first path), all paths (switch the active one)
// and one path (its modules, each item's status, the done counts, where to continue).
import { act } from '../act.js'
import { moduleProgress, pathProgress } from '../content.js'
import { h } from '../dom.js'
import { continueTarget } from '../guidance.js'
import { tr } from '../locale.js'
import { go, itemHref, pathHref } from '../router.js'
import { choosePath as recordChoice, setActivePath } from '../record.js'
import { state } from '../state.js'
import { outcomeOf } from '../outcome.js'
import { itemStatus } from '../../snapshot.js'
import { heading, progressBar } from './parts.js'

function choosePath(pathId) {
  // first: the record's own render may draw the path (at home) before the route changes
  state.focusHeading = true
  act(() => recordChoice(pathId))
  go(pathHref(pathId))
}

export function onboardingView() {
  const cards = state.content.paths.map((path) =>
    h(
      'li',
      { className: 'card path-card', dataset: { testid: `path-card-${path.pathId}`, pathId: path.pathId } },
      h('h3', {}, path.title),
      h('p', { className: 'muted' }, path.description),
      h('p', { className: 'count' }, `${path.modules.length} ${tr('modules').toLowerCase()}`),
      h(
        'div',
        { className: 'actions' },
        h('button', {
          type: 'button',
          dataset: { testid: `choose-path-${path.pathId}`, key: `choose-${path.pathId}` },
          onclick: () => choosePath(path.pathId),
        }, tr('startPath', { title: path.title })),
      ),
    ),
  )
  return h(
    'section',
    { dataset: { testid: 'onboarding' } },
    heading(tr('welcome')),
    h('p', { className: 'muted' }, tr('welcomeText')),
    h('ul', { className: 'paths', style: 'list-style:none;padding:0;margin:0' }, cards),
  )
}

export function pathsView() {
  const snapshot = state.snapshot
  const cards = state.content.paths.map((path) => {
    const active = snapshot.activePathId === path.pathId
    return h(
      'li',
      { className: 'card path-card', dataset: { testid: `path-card-${path.pathId}`, pathId: path.pathId } },
      h('h3', {}, path.title, ' ', active ? h('span', { className: 'badge' }, tr('active')) : null),
      h('p', { className: 'muted' }, path.description),
      progressBar(pathProgress(snapshot, path, state.content.items), `path-card-progress-${path.pathId}`, tr('pathProgress')),
      h(
        'div',
        { className: 'actions' },
        h('a', { className: 'button secondary', href: pathHref(path.pathId), dataset: { testid: `open-path-${path.pathId}` } }, tr('continuePath')),
        active
          ? null
          : h('button', {
              type: 'button',
              dataset: { testid: `activate-path-${path.pathId}`, key: `activate-${path.pathId}` },
              onclick: () => act(() => setActivePath(path.pathId)),
            }, tr('makeActive')),
      ),
    )
  })
  return h(
    'section',
    { dataset: { testid: 'paths-view' } },
    heading(tr('allPaths')),
    h('ul', { className: 'paths', style: 'list-style:none;padding:0;margin:0' }, cards),
  )
}

/** "Continue where you left off" (or where to start), or that the path is finished. */
function continueLink(snapshot, path) {
  const target = continueTarget(snapshot, path, state.content.items)
  if (!target) return h('p', { className: 'milestone', dataset: { testid: 'path-finished' } }, tr('pathComplete'))
  const title = state.content.items.get(target.contentId)?.title || target.contentId
  return h(
    'p',
    { className: 'continue' },
    h('a', {
      className: 'button',
      href: itemHref(path.pathId, target.moduleId, target.contentId),
      dataset: { testid: 'continue', contentId: target.contentId },
    }, tr(target.started ? 'continueWhere' : 'startWith', { title })),
  )
}

export function pathView(path) {
  const snapshot = state.snapshot
  const active = snapshot.activePathId === path.pathId
  const modules = path.modules.map((module, index) =>
    h(
      'li',
      { className: 'card', dataset: { testid: `module-${module.moduleId}`, moduleId: module.moduleId } },
      h('h3', {}, h('span', { className: 'kind' }, tr('moduleLabel', { n: index + 1 })), module.title),
      progressBar(moduleProgress(snapshot, module, state.content.items), `module-progress-${module.moduleId}`, `${tr('moduleProgress')}: ${module.title}`),
      h(
        'ul',
        { className: 'module-items' },
        module.items.map((contentId) => {
          const item = state.content.items.get(contentId)
          const status = itemStatus(snapshot, contentId)
          const outcome = outcomeOf(snapshot, contentId, item)
          return h(
            'li',
            {},
            h(
              'a',
              {
                href: itemHref(path.pathId, module.moduleId, contentId),
                dataset: { testid: `item-link-${module.moduleId}-${contentId}`, status, key: `link-${module.moduleId}-${contentId}` },
              },
              h('span', {}, h('span', { className: 'kind' }, tr(item?.kind || 'lesson')), item?.title || contentId),
              h('span', { className: `item-status status-${outcome}`, dataset: { outcome } }, tr(`itemStatus.${outcome}`)),
            ),
          )
        }),
      ),
    ),
  )
  return h(
    'section',
    { dataset: { testid: 'path-view', pathId: path.pathId } },
    h('nav', { className: 'crumbs', 'aria-label': tr('breadcrumb') }, h('a', { href: '#/paths', dataset: { testid: 'all-paths-link' } }, tr('allPaths'))),
    h(
      'div',
      { className: 'head-row' },
      heading(path.title),
      active
        ? h('span', { className: 'badge', dataset: { testid: 'active-badge' } }, tr('activePath'))
        : h('button', {
            type: 'button',
            className: 'secondary small',
            dataset: { testid: 'make-active-path', key: 'make-active' },
            onclick: () => act(() => setActivePath(path.pathId)),
          }, tr('makeActive')),
    ),
    h('p', { className: 'muted' }, path.description),
    progressBar(pathProgress(snapshot, path, state.content.items), 'path-progress', tr('pathProgress')),
    continueLink(snapshot, path),
    h('h3', { style: 'margin-top:1rem' }, tr('modules')),
    h('ol', { className: 'modules' }, modules),
  )
}
