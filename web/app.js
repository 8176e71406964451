// The learning page: onboarding, paths -> modules -> items, lessons, quizzes, progress, streak,
// locale, sign in/out and the sync status, built only on the JS API of progress-client.js
// (DESIGN §8). Until the client is ready the page shows the cached snapshot, read-only.
import * as progressClientModule from './progress-client.js'
import { t } from './i18n.js'
import { isDone, itemStatus, loadContent, loadLocales, moduleProgress, pathProgress } from './content.js'

const LOCALE_KEY = 'learning_locale'
const EMAIL_KEY = 'learning_account_email'
const DEMO = { email: 'demo@example.com', password: 'demo-password' }

const $ = (id) => document.getElementById(id)

const state = {
  locale: 'en',
  locales: null, // {defaultLocale, locales}
  content: null, // loadContent() result for state.locale
  contentError: null,
  client: null,
  failed: false,
  snapshot: readCachedSnapshot(),
  status: null,
  quizMode: new Map(), // contentId -> 'answer' | 'result', for the item on screen
  opened: null, // the route key whose "opened" in_progress event was already considered
  focusHeading: false,
}

// ---------------------------------------------------------------- small helpers

function readCachedSnapshot() {
  try {
    // the client module knows whose cache to read (a signed-in user's, or the guest's)
    const cached = progressClientModule.readCachedSnapshot?.()
    if (cached) return cached
  } catch {
    // fall back to the guest cache below
  }
  try {
    const value = JSON.parse(localStorage.getItem('learning_progress_snapshot') || 'null')
    if (value && value.v === 1 && value.snapshot && typeof value.snapshot === 'object') return value.snapshot
  } catch {
    // only a cache
  }
  return {
    version: 1,
    content: {},
    onboarding: { completed: false, pathId: null, completedAt: null },
    activePathId: null,
    streak: { current: 0, longest: 0, lastActivityDate: null },
    lastUpdated: null,
  }
}

function storageGet(key) {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

function storageSet(key, value) {
  try {
    if (value === null) localStorage.removeItem(key)
    else localStorage.setItem(key, value)
  } catch {
    // storage full: a preference is not worth a warning, the quota banner covers it
  }
}

/** h('tag', {attr: value, onclick: fn, dataset: {...}}, ...children) */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'dataset') Object.assign(el.dataset, value)
    else if (name.startsWith('on')) el.addEventListener(name.slice(2), value)
    else if (name === 'text') el.textContent = value
    else if (name === 'className') el.className = value
    else if (value === true) el.setAttribute(name, '')
    else el.setAttribute(name, String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

const tr = (key, params) => t(state.locale, key, params)
const ready = () => !!state.client

function act(fn) {
  // Every write goes through here: a failure is shown, never swallowed.
  try {
    return fn()
  } catch (error) {
    console.error('Learning progress:', error)
    const box = $('progress-error')
    box.textContent = error?.message || String(error)
    box.hidden = false
    return undefined
  }
}

function liveStreak(streak) {
  // The reducer never reads the clock; a streak whose last day is before yesterday is over.
  if (!streak || !streak.lastActivityDate) return 0
  const day = (ms) => new Date(ms).toISOString().slice(0, 10)
  const yesterday = day(Date.now() - 86_400_000)
  return streak.lastActivityDate >= yesterday ? streak.current : 0
}

// ---------------------------------------------------------------- routing

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  if (parts[0] === 'paths') return { name: 'paths' }
  if (parts[0] === 'path' && parts[1]) {
    if (parts[2] && parts[3]) return { name: 'item', pathId: parts[1], moduleId: parts[2], contentId: parts[3] }
    return { name: 'path', pathId: parts[1] }
  }
  return { name: 'home' }
}

const pathHref = (pathId) => `#/path/${encodeURIComponent(pathId)}`
const itemHref = (pathId, moduleId, contentId) =>
  `#/path/${encodeURIComponent(pathId)}/${encodeURIComponent(moduleId)}/${encodeURIComponent(contentId)}`

function go(hash) {
  if (location.hash === hash) render()
  else location.hash = hash
}

// ---------------------------------------------------------------- header, banners, panel

function renderStatic() {
  document.documentElement.lang = state.locale
  document.title = tr('appTitle')
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n)
  $('sync-retry').textContent = tr('retry')
  $('session-sign-in').textContent = tr('signIn')
  $('sign-in-open').textContent = tr('signIn')
  $('sign-out').textContent = tr('signOut')
  $('reset-progress').textContent = tr('resetProgress')
  $('reset-title').textContent = tr('resetTitle')
  $('reset-text').textContent = tr('resetText')
  document.querySelector('[data-testid="reset-cancel"]').textContent = tr('cancel')
  document.querySelector('[data-testid="reset-confirm"]').textContent = tr('resetConfirm')
  $('sign-in-title').textContent = tr('signInTitle')
  $('sign-in-hint').textContent = tr('demoHint', DEMO)
  $('sign-in-email-label').textContent = tr('email')
  $('sign-in-password-label').textContent = tr('password')
  $('sign-in-cancel').textContent = tr('cancel')
  $('sign-in-submit').textContent = tr('signIn')
  document.querySelector('.skip').textContent = tr('skipToContent')
  const select = $('locale-select')
  if (state.locales) {
    select.replaceChildren(
      ...state.locales.locales.map((l) => h('option', { value: l.code, selected: l.code === state.locale }, l.name)),
    )
    select.value = state.locale
    select.disabled = false
  }
}

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
      if (status.storageWarning && (!status.errorMessage || status.errorMessage === status.storageWarning)) {
        return tr('status.storageFull') // the banner says more
      }
      return tr('status.error', { n, message: status.errorMessage || tr('status.errorGeneric') })
    default: // local
      if (status.userId) return n ? tr('status.pending', { n }) : tr('status.synced')
      return tr('status.local')
  }
}

function renderHeader() {
  const status = state.status
  const box = $('sync-status')
  box.dataset.state = state.failed ? 'unavailable' : status ? status.state : 'loading'
  box.dataset.pending = String(status?.pending ?? 0)
  box.dataset.signedIn = status?.userId ? 'true' : 'false'
  $('progress-state').textContent = statusLine(status)
  $('sync-retry').hidden = !(status && status.state === 'error')
  $('session-sign-in').hidden = !(status && status.state === 'session_expired')

  const signedIn = !!status?.userId
  const who = storageGet(EMAIL_KEY) || status?.userId
  const label = $('account-label')
  label.textContent = signedIn ? tr('signedInAs', { who }) : ready() ? tr('guest') : ''
  label.dataset.userId = status?.userId || ''
  $('sign-in-open').hidden = signedIn
  $('sign-in-open').disabled = !ready()
  $('sign-out').hidden = !signedIn

  const warning = $('storage-warning')
  warning.hidden = !status?.storageWarning
  warning.textContent = status?.storageWarning || ''

  const offline = $('offline-banner')
  offline.hidden = navigator.onLine
  offline.textContent = tr('offlineBanner')
}

function titleOf(contentId) {
  return state.content?.items.get(contentId)?.title || contentId
}

function pathTitle(pathId) {
  return state.content?.pathById.get(pathId)?.title || pathId
}

function renderPanel() {
  const snapshot = state.snapshot
  const section = $('progress')
  const loading = !ready() && !state.failed
  section.classList.toggle('loading', loading)
  section.setAttribute('aria-busy', loading ? 'true' : 'false')
  const ob = snapshot.onboarding || {}
  $('progress-onboarding').textContent = ob.completed
    ? tr('onboardingDone', { path: pathTitle(ob.pathId || '') })
    : tr('onboardingNot')
  $('progress-path').textContent = snapshot.activePathId ? pathTitle(snapshot.activePathId) : tr('none')
  const streak = snapshot.streak || {}
  const current = liveStreak(streak)
  const streakEl = $('progress-streak')
  streakEl.textContent = tr('streakValue', { current, longest: streak.longest || 0 })
  streakEl.dataset.current = String(current)
  streakEl.dataset.longest = String(streak.longest || 0)
  $('progress-updated').textContent = snapshot.lastUpdated
    ? new Date(snapshot.lastUpdated).toLocaleString(state.locale)
    : tr('never')
  const content = snapshot.content || {}
  const ids = Object.keys(content).sort()
  $('progress-items').replaceChildren(
    ...ids.map((id) => {
      const item = content[id] || {}
      const score = item.score === null || item.score === undefined ? '' : ` · ${item.score}`
      return h(
        'li',
        { dataset: { contentId: id, status: item.status } },
        h('span', { className: 'item-id' }, titleOf(id)),
        h('span', { className: `item-status status-${item.status}` }, tr(`itemStatus.${item.status}`) + score),
      )
    }),
  )
  const empty = $('progress-empty')
  empty.hidden = ids.length > 0
  empty.textContent = tr('noProgress')
  $('reset-progress').disabled = !ready()
}

// ---------------------------------------------------------------- views

function progressBar({ done, total }, testid, label) {
  const pct = total ? Math.round((done / total) * 100) : 0
  return h(
    'div',
    { className: 'progress-line', dataset: { testid, done: String(done), total: String(total) } },
    h('div', {
      className: 'bar',
      role: 'progressbar',
      'aria-label': label,
      'aria-valuemin': '0',
      'aria-valuemax': String(total),
      'aria-valuenow': String(done),
    }, h('span', { style: `width:${pct}%` })),
    h('span', { className: 'count' }, tr('itemsDone', { done, total })),
  )
}

function heading(text, testid) {
  return h('h2', { tabindex: '-1', className: 'view-heading', dataset: testid ? { testid } : undefined }, text)
}

function onboardingView() {
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
          disabled: !ready(),
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

function choosePath(pathId) {
  act(() => {
    state.client.completeOnboarding(pathId)
    state.client.setActivePath(pathId)
  })
  state.focusHeading = true
  go(pathHref(pathId))
}

function pathsView() {
  const snapshot = state.snapshot
  const cards = state.content.paths.map((path) => {
    const active = snapshot.activePathId === path.pathId
    return h(
      'li',
      { className: 'card path-card', dataset: { testid: `path-card-${path.pathId}`, pathId: path.pathId } },
      h('h3', {}, path.title, ' ', active ? h('span', { className: 'badge' }, tr('active')) : null),
      h('p', { className: 'muted' }, path.description),
      progressBar(pathProgress(snapshot, path), `path-card-progress-${path.pathId}`, tr('pathProgress')),
      h(
        'div',
        { className: 'actions' },
        h('a', { className: 'button secondary', href: pathHref(path.pathId), dataset: { testid: `open-path-${path.pathId}` } }, tr('continuePath')),
        active
          ? null
          : h('button', {
              type: 'button',
              disabled: !ready(),
              dataset: { testid: `activate-path-${path.pathId}`, key: `activate-${path.pathId}` },
              onclick: () => act(() => state.client.setActivePath(path.pathId)),
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

function pathView(path) {
  const snapshot = state.snapshot
  const active = snapshot.activePathId === path.pathId
  const modules = path.modules.map((module, index) =>
    h(
      'li',
      { className: 'card', dataset: { testid: `module-${module.moduleId}`, moduleId: module.moduleId } },
      h('h3', {}, h('span', { className: 'kind' }, tr('moduleLabel', { n: index + 1 })), module.title),
      progressBar(moduleProgress(snapshot, module), `module-progress-${module.moduleId}`, `${tr('moduleProgress')}: ${module.title}`),
      h(
        'ul',
        { className: 'module-items' },
        module.items.map((contentId) => {
          const item = state.content.items.get(contentId)
          const status = itemStatus(snapshot, contentId)
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
              h('span', { className: `item-status status-${status}` }, tr(`itemStatus.${status}`)),
            ),
          )
        }),
      ),
    ),
  )
  return h(
    'section',
    { dataset: { testid: 'path-view', pathId: path.pathId } },
    h('nav', { className: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/paths', dataset: { testid: 'all-paths-link' } }, tr('allPaths'))),
    h(
      'div',
      { className: 'head-row' },
      heading(path.title),
      active
        ? h('span', { className: 'badge', dataset: { testid: 'active-badge' } }, tr('activePath'))
        : h('button', {
            type: 'button',
            className: 'secondary small',
            disabled: !ready(),
            dataset: { testid: 'make-active-path', key: 'make-active' },
            onclick: () => act(() => state.client.setActivePath(path.pathId)),
          }, tr('makeActive')),
    ),
    h('p', { className: 'muted' }, path.description),
    progressBar(pathProgress(snapshot, path), 'path-progress', tr('pathProgress')),
    h('h3', { style: 'margin-top:1rem' }, tr('modules')),
    h('ol', { className: 'modules' }, modules),
  )
}

function slotsOf(path) {
  return path.modules.flatMap((m) => m.items.map((contentId) => ({ moduleId: m.moduleId, contentId })))
}

function itemView(route, path, module, item) {
  const snapshot = state.snapshot
  const status = itemStatus(snapshot, item.contentId)
  const slots = slotsOf(path)
  const at = slots.findIndex((s) => s.moduleId === module.moduleId && s.contentId === item.contentId)
  const prev = slots[at - 1]
  const next = slots[at + 1]
  const body = item.kind === 'quiz' ? quizBody(item, status) : lessonBody(item, status)
  return h(
    'section',
    { dataset: { testid: 'item-view', contentId: item.contentId, kind: item.kind, status } },
    h(
      'nav',
      { className: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: pathHref(path.pathId), dataset: { testid: 'back-to-path' } }, path.title),
      h('span', { 'aria-hidden': 'true' }, '›'),
      h('span', {}, module.title),
    ),
    h('p', { className: 'kind', style: 'margin:0' }, tr(item.kind)),
    heading(item.title, 'item-title'),
    h('p', { className: `item-status status-${status}`, dataset: { testid: 'item-status' } }, tr(`itemStatus.${status}`)),
    body,
    h(
      'nav',
      { className: 'pager', 'aria-label': 'Items' },
      prev
        ? h('a', { className: 'button secondary', href: itemHref(path.pathId, prev.moduleId, prev.contentId), dataset: { testid: 'item-prev' } }, `← ${tr('previous')}`)
        : h('span'),
      next
        ? h('a', { className: 'button secondary', href: itemHref(path.pathId, next.moduleId, next.contentId), dataset: { testid: 'item-next' } }, `${tr('next')} →`)
        : h('a', { className: 'button secondary', href: pathHref(path.pathId) }, tr('back', { title: path.title })),
    ),
  )
}

function lessonBody(item, status) {
  const done = status === 'completed' || status === 'passed'
  return h(
    'div',
    {},
    h('div', { className: 'lesson-body' }, item.body.map((p) => h('p', {}, p))),
    h(
      'div',
      { className: 'lesson-actions' },
      done
        ? h('p', { className: 'done-note', dataset: { testid: 'lesson-done' } }, tr('lessonDone'))
        : h('button', {
            type: 'button',
            disabled: !ready(),
            dataset: { testid: 'mark-complete', key: 'mark-complete' },
            onclick: () =>
              act(() =>
                state.client.recordProgress({ contentId: item.contentId, status: 'completed', contentVersion: item.contentVersion }),
              ),
          }, tr('markComplete')),
    ),
  )
}

function quizBody(item, status) {
  const entry = state.snapshot.content?.[item.contentId]
  const selected = entry?.interactions?.[item.interactionId]?.selectedOptionId ?? null
  let mode = state.quizMode.get(item.contentId)
  if (!mode) {
    mode = (status === 'completed' || status === 'passed') && selected ? 'result' : 'answer'
    state.quizMode.set(item.contentId, mode)
  }
  if (mode === 'result' && !selected) mode = 'answer' // cleared elsewhere (another tab)
  const showResult = mode === 'result'
  const name = `quiz-${item.contentId}`
  const options = item.options.map((option) => {
    const mark = showResult
      ? option.id === item.correctOptionId
        ? ' correct'
        : option.id === selected
          ? ' wrong'
          : ''
      : ''
    return h(
      'label',
      { className: `option${mark}` },
      h('input', {
        type: 'radio',
        name,
        value: option.id,
        checked: option.id === selected,
        disabled: !ready() || showResult,
        dataset: { testid: `quiz-option-${option.id}`, key: `option-${option.id}` },
        onchange: () => chooseOption(item, option.id),
      }),
      h('span', {}, option.text),
    )
  })
  const correct = selected === item.correctOptionId
  const answerText = item.options.find((o) => o.id === item.correctOptionId)?.text || ''
  return h(
    'form',
    {
      className: 'quiz',
      onsubmit: (ev) => {
        ev.preventDefault()
        submitQuiz(item)
      },
    },
    h('fieldset', {}, h('legend', {}, item.question), options),
    showResult
      ? h(
          'div',
          { className: 'result', role: 'status', dataset: { testid: 'quiz-result', result: correct ? 'correct' : 'wrong' } },
          h('p', {}, h('strong', {}, correct ? tr('correct', { score: item.score }) : tr('wrong', { answer: answerText }))),
          item.explanation ? h('p', {}, item.explanation) : null,
          entry?.score !== null && entry?.score !== undefined ? h('p', { className: 'count' }, tr('bestScore', { score: entry.score })) : null,
        )
      : null,
    h(
      'div',
      { className: 'quiz-actions' },
      showResult
        ? h('button', {
            type: 'button',
            className: 'secondary',
            disabled: !ready(),
            dataset: { testid: 'quiz-retry', key: 'quiz-retry' },
            onclick: () => retryQuiz(item),
          }, tr('tryAgain'))
        : h('button', {
            type: 'submit',
            disabled: !ready() || !selected,
            dataset: { testid: 'quiz-submit', key: 'quiz-submit' },
          }, tr('submit')),
    ),
  )
}

function chooseOption(item, optionId) {
  act(() =>
    state.client.recordProgress({
      contentId: item.contentId,
      status: 'in_progress',
      contentVersion: item.contentVersion,
      interaction: { interactionId: item.interactionId, state: { kind: 'quiz', selectedOptionId: optionId } },
    }),
  )
}

function submitQuiz(item) {
  const entry = state.snapshot.content?.[item.contentId]
  const selected = entry?.interactions?.[item.interactionId]?.selectedOptionId
  if (!selected || !ready()) return
  const correct = selected === item.correctOptionId
  state.quizMode.set(item.contentId, 'result')
  act(() =>
    state.client.recordProgress({
      contentId: item.contentId,
      status: correct ? 'passed' : 'completed',
      score: correct ? item.score : 0,
      contentVersion: item.contentVersion,
      interaction: { interactionId: item.interactionId, state: { kind: 'quiz', selectedOptionId: selected } },
    }),
  )
  render()
  document.querySelector('[data-testid="quiz-retry"]')?.focus()
}

function retryQuiz(item) {
  state.quizMode.set(item.contentId, 'answer')
  const status = itemStatus(state.snapshot, item.contentId)
  act(() =>
    state.client.recordProgress({
      contentId: item.contentId,
      // never lowers the status: a retry only clears the answer
      status: status === 'not_started' ? 'in_progress' : status,
      contentVersion: item.contentVersion,
      interaction: { interactionId: item.interactionId, state: null },
    }),
  )
  render()
  document.querySelector(`[data-testid^="quiz-option-"]`)?.focus()
}

function notFoundView() {
  return h('section', { dataset: { testid: 'not-found' } }, heading(tr('notFound')), h('a', { href: '#/' }, tr('home')))
}

function maybeRecordOpened(route, item) {
  // Opening a lesson records in_progress, once per visit, and only if it was not started.
  const key = `${route.pathId}/${route.moduleId}/${route.contentId}`
  if (!ready() || state.opened === key) return
  state.opened = key
  if (item.kind === 'lesson' && itemStatus(state.snapshot, item.contentId) === 'not_started') {
    act(() => state.client.recordProgress({ contentId: item.contentId, status: 'in_progress', contentVersion: item.contentVersion }))
  }
}

function renderView() {
  const main = $('view')
  if (state.contentError) {
    main.replaceChildren(h('section', { className: 'error' }, tr('contentFailed', { message: state.contentError })))
    return
  }
  if (!state.content) return
  const route = parseRoute()
  if (route.name !== 'item') state.opened = null
  let view
  let afterRender = null
  if (route.name === 'home') {
    const snapshot = state.snapshot
    const pathId = snapshot.activePathId || (snapshot.onboarding?.completed ? snapshot.onboarding.pathId : null)
    const path = pathId && state.content.pathById.get(pathId)
    view = snapshot.onboarding?.completed && path ? pathView(path) : onboardingView()
  } else if (route.name === 'paths') {
    view = pathsView()
  } else {
    const path = state.content.pathById.get(route.pathId)
    if (!path) view = notFoundView()
    else if (route.name === 'path') view = pathView(path)
    else {
      const module = path.modules.find((m) => m.moduleId === route.moduleId)
      const item = module && module.items.includes(route.contentId) && state.content.items.get(route.contentId)
      if (!item) view = notFoundView()
      else {
        view = itemView(route, path, module, item)
        afterRender = () => maybeRecordOpened(route, item)
      }
    }
  }
  // Keep keyboard focus on the same control across re-renders.
  const focused = main.contains(document.activeElement) ? document.activeElement?.dataset?.key : null
  main.replaceChildren(view)
  if (state.focusHeading) {
    state.focusHeading = false
    main.querySelector('.view-heading')?.focus()
  } else if (focused) {
    main.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus()
  }
  if (afterRender) afterRender()
}

let rendering = false
let again = false
function render() {
  if (rendering) {
    again = true // a write during rendering (a lesson opened): render once more afterwards
    return
  }
  rendering = true
  try {
    do {
      again = false
      renderStatic()
      renderHeader()
      renderPanel()
      renderView()
    } while (again)
  } finally {
    rendering = false
  }
}

// ---------------------------------------------------------------- dialogs and controls

function refresh() {
  // after an awaited client call: take its latest snapshot and status, then render
  if (state.client) {
    state.snapshot = state.client.snapshot
    state.status = state.client.status
  }
  render()
}

function wireControls() {
  window.addEventListener('hashchange', () => {
    state.quizMode.clear()
    state.focusHeading = true
    render()
  })
  window.addEventListener('online', renderHeader)
  window.addEventListener('offline', renderHeader)

  $('locale-select').addEventListener('change', (ev) => setLocale(ev.target.value))

  const resetDialog = $('reset-dialog')
  $('reset-progress').addEventListener('click', () => {
    resetDialog.returnValue = ''
    resetDialog.showModal()
  })
  resetDialog.addEventListener('close', () => {
    if (resetDialog.returnValue !== 'confirm' || !ready()) return
    act(() => state.client.resetProgress())
    state.quizMode.clear()
    state.focusHeading = true
    go('#/')
  })

  const signInDialog = $('sign-in-dialog')
  const openSignIn = () => {
    $('sign-in-error').hidden = true
    const remembered = storageGet(EMAIL_KEY)
    if (remembered) $('sign-in-email').value = remembered
    signInDialog.showModal()
  }
  $('sign-in-open').addEventListener('click', openSignIn)
  $('session-sign-in').addEventListener('click', openSignIn)
  $('sign-in-cancel').addEventListener('click', () => signInDialog.close())
  $('sign-in-form').addEventListener('submit', async (ev) => {
    ev.preventDefault()
    if (!ready()) return
    const email = $('sign-in-email').value.trim()
    const password = $('sign-in-password').value
    const submit = $('sign-in-submit')
    submit.disabled = true
    submit.textContent = tr('signingIn')
    $('sign-in-error').hidden = true
    try {
      await state.client.signIn({ email, password })
      storageSet(EMAIL_KEY, email)
      signInDialog.close()
      refresh()
    } catch (error) {
      const box = $('sign-in-error')
      box.textContent = tr('signInFailed', { message: error?.message || String(error) })
      box.hidden = false
    } finally {
      submit.disabled = false
      submit.textContent = tr('signIn')
    }
  })
  $('sign-out').addEventListener('click', async () => {
    try {
      await state.client.signOut()
      storageSet(EMAIL_KEY, null)
      state.quizMode.clear()
      refresh()
    } catch (error) {
      act(() => {
        throw new Error(tr('signOutFailed', { message: error?.message || String(error) }))
      })
    }
  })
  $('sync-retry').addEventListener('click', async () => {
    try {
      await state.client.sync()
    } catch (error) {
      console.warn('Learning progress: manual sync failed', error)
    }
    refresh()
  })
}

function pickLocale(locales) {
  const codes = locales.locales.map((l) => l.code)
  const saved = storageGet(LOCALE_KEY)
  if (saved && codes.includes(saved)) return saved
  for (const lang of navigator.languages || []) {
    const code = lang.toLowerCase().split('-')[0]
    if (codes.includes(code)) return code
  }
  return locales.defaultLocale
}

async function setLocale(code) {
  storageSet(LOCALE_KEY, code)
  state.locale = code
  try {
    state.content = await loadContent(code)
    state.contentError = null
  } catch (error) {
    state.contentError = error?.message || String(error)
  }
  render()
}

// ---------------------------------------------------------------- start

const contentReady = (async () => {
  try {
    state.locales = await loadLocales()
    state.locale = pickLocale(state.locales)
    state.content = await loadContent(state.locale)
  } catch (error) {
    state.contentError = error?.message || String(error)
    console.error('Learning progress: the course could not be loaded', error)
  }
  render()
})()

wireControls()
render()

try {
  const client = await progressClientModule.createProgressClient({ apiBaseUrl: '/api/v1' })
  await contentReady
  state.client = client
  state.snapshot = client.snapshot
  state.status = client.status
  client.subscribe((snapshot, status) => {
    state.snapshot = snapshot
    state.status = status
    render()
  })
  render()
  window.progressClient = client
  document.documentElement.dataset.progressReady = 'true'
  if (performance.mark) performance.mark('progress-ready')
} catch (error) {
  // progress-client.js shows load failures on the page and in the console; anything else here
  state.failed = true
  if (!document.documentElement.dataset.progressError) {
    document.documentElement.dataset.progressError = error?.message || String(error)
    console.error('Learning progress could not start:', error)
    const box = $('progress-error')
    box.textContent = `Learning progress could not start: ${error?.message || error}`
    box.hidden = false
  }
  render()
}
