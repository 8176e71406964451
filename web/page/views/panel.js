// The progress panel: onboarding, active path, streak, last update and every item's status.
// It takes everything it shows as arguments, so that the first paint (the cached snapshot,
// before the content and the client load) and the page draw it the same way.
import { $, h } from '../dom.js'
import { t } from '../i18n.js'
import { outcomeOf } from '../outcome.js'

function liveStreak(streak) {
  // The reducer never reads the clock; a streak whose last day is before yesterday is over.
  if (!streak || !streak.lastActivityDate) return 0
  const day = (ms) => new Date(ms).toISOString().slice(0, 10)
  const yesterday = day(Date.now() - 86_400_000)
  return streak.lastActivityDate >= yesterday ? streak.current : 0
}

/**
 * content: the locale's course or null (titles fall back to ids); ready: the client is;
 * pendingIds: items with actions queued before the client was ready (shown as saving).
 */
export function renderPanel({ snapshot, locale, content, ready, failed, pendingIds = new Set() }) {
  const tr = (key, params) => t(locale, key, params)
  const titleOf = (contentId) => content?.items.get(contentId)?.title || contentId
  const pathTitle = (pathId) => content?.pathById.get(pathId)?.title || pathId
  const section = $('progress')
  const loading = !ready && !failed
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
    ? new Date(snapshot.lastUpdated).toLocaleString(locale)
    : tr('never')
  const items = snapshot.content || {}
  const ids = Object.keys(items).sort()
  $('progress-items').replaceChildren(
    ...ids.map((id) => {
      const item = items[id] || {}
      const known = content?.items.get(id)
      const outcome = outcomeOf(snapshot, id, known)
      const hasScore = item.score !== null && item.score !== undefined
      const score = !hasScore ? '' : known?.score ? ` · ${item.score} / ${known.score}` : ` · ${item.score}`
      const pending = pendingIds.has(id)
      return h(
        'li',
        { dataset: pending ? { contentId: id, status: item.status, pending: 'true' } : { contentId: id, status: item.status } },
        h('span', { className: 'item-id' }, titleOf(id)),
        h('span', { className: `item-status status-${outcome}` }, tr(`itemStatus.${outcome}`) + score + (pending ? ` · ${tr('saving')}` : '')),
      )
    }),
  )
  const empty = $('progress-empty')
  empty.hidden = ids.length > 0
  empty.textContent = tr('noProgress')
  $('reset-progress').disabled = !ready
}
