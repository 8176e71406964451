// The progress panel: the active path with its done count, the streak relative to today, the
// last update (once something happened) and every item's status in plain words, in course order
// (the active path first). It takes everything it shows as arguments, so that the first paint
// (the cached snapshot, before the content and the client load) and the page draw it the same
// way; before the content loads, titles fall back to ids.
import { pathProgress } from '../content.js'
import { $, h } from '../dom.js'
import { t, tn } from '../i18n.js'
import { outcomeOf } from '../outcome.js'

const day = (ms) => new Date(ms).toISOString().slice(0, 10) // UTC days, as the reducer counts them

/**
 * The streak in words, relative to today: the reducer never reads the clock, so a streak whose
 * last day is before yesterday is over, one whose last day is yesterday is kept by learning today.
 */
export function streakWords(locale, streak, now = Date.now()) {
  const today = day(now)
  const yesterday = day(now - 86_400_000)
  const last = streak?.lastActivityDate || null
  const current = last && last >= yesterday ? streak.current || 0 : 0
  let text
  if (!current) {
    text = streak?.longest
      ? t(locale, 'streak.over', { best: tn(locale, 'dayCount', { n: streak.longest }) })
      : t(locale, 'streak.none')
  } else {
    const days = tn(locale, 'streak.days', { n: current })
    text = t(locale, last === today ? 'streak.today' : 'streak.keep', { days })
  }
  return { current, text }
}

/** Content ids in course order: the active path's first, then the other paths', each once. */
function courseOrder(content, activePathId) {
  if (!content) return []
  const paths = [...content.paths].sort((a, b) => (b.pathId === activePathId) - (a.pathId === activePathId))
  return [...new Set(paths.flatMap((p) => p.modules.flatMap((m) => m.items)))]
}

/** Nothing a reset would clear: no item, no onboarding, no active path. */
function isEmpty(snapshot) {
  return !Object.keys(snapshot.content || {}).length && !snapshot.onboarding?.completed && !snapshot.activePathId
}

/**
 * content: the locale's course or null; ready: the client is; pendingIds: items with actions
 * queued before the client was ready (shown as saving).
 */
export function renderPanel({ snapshot, locale, content, ready, failed, pendingIds = new Set() }) {
  const tr = (key, params) => t(locale, key, params)
  const section = $('progress')
  const loading = !ready && !failed
  section.classList.toggle('loading', loading)
  section.setAttribute('aria-busy', loading ? 'true' : 'false')

  const path = snapshot.activePathId ? content?.pathById.get(snapshot.activePathId) : null
  const done = path ? pathProgress(snapshot, path, content.items) : null
  $('progress-path').textContent = path ? `${path.title} · ${tr('itemsDone', done)}` : snapshot.activePathId || tr('none')
  // narrow screens, where the panel comes after the lesson: a button to it, with the count
  $('progress-jump').textContent = done ? tr('progressJump', done) : tr('progressJumpPlain')

  const streak = snapshot.streak || {}
  const { current, text } = streakWords(locale, streak)
  const streakEl = $('progress-streak')
  streakEl.textContent = text
  streakEl.dataset.current = String(current)
  streakEl.dataset.longest = String(streak.longest || 0)

  const updated = snapshot.lastUpdated
  $('progress-updated-label').hidden = !updated
  $('progress-updated').hidden = !updated
  $('progress-updated').textContent = updated ? new Date(updated).toLocaleString(locale) : ''

  const items = snapshot.content || {}
  const order = courseOrder(content, snapshot.activePathId).filter((id) => id in items)
  const rest = Object.keys(items).filter((id) => !order.includes(id)).sort()
  const ids = [...order, ...rest]
  const rows = ids.map((id) => {
    const entry = items[id] || {}
    const known = content?.items.get(id)
    const outcome = outcomeOf(snapshot, id, known)
    const hasScore = entry.score !== null && entry.score !== undefined
    const score = !hasScore ? '' : known?.score ? ` · ${entry.score} / ${known.score}` : ` · ${entry.score}`
    const pending = pendingIds.has(id)
    const words = tr(`itemStatus.${outcome}`) + score + (pending ? ` · ${tr('saving')}` : '')
    return { id, status: entry.status, title: known?.title || id, outcome, words, pending }
  })
  drawList($('progress-items'), rows)
  const empty = $('progress-empty')
  empty.hidden = ids.length > 0
  empty.textContent = tr('noProgress')
  $('reset-progress').disabled = !ready || isEmpty(snapshot)
}

// The rows as last drawn, by id: a row that would come out the same keeps its element, so that a
// change to one item of hundreds (a record) rebuilds that row only.
let drawn = new Map() // id -> {key, el}

function rowElement({ id, status, title, outcome, words, pending }) {
  return h(
    'li',
    { dataset: pending ? { contentId: id, status, pending: 'true' } : { contentId: id, status } },
    h('span', { className: 'item-id' }, title),
    h('span', { className: `item-status status-${outcome}` }, words),
  )
}

function drawList(list, rows) {
  const next = new Map()
  const els = rows.map((row) => {
    const key = JSON.stringify(row)
    const old = drawn.get(row.id)
    const el = old && old.key === key && old.el.parentNode === list ? old.el : rowElement(row)
    next.set(row.id, { key, el })
    return el
  })
  drawn = next
  const keep = new Set(els)
  for (const child of [...list.children]) if (!keep.has(child)) child.remove()
  els.forEach((el, i) => {
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null)
  })
}
