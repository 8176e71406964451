// Pieces several views share: the view's heading (focused after a route change) and a progress
// bar with its "n of m done" count.
import { h } from '../dom.js'
import { tr } from '../locale.js'

export function heading(text, testid) {
  return h('h2', { tabindex: '-1', className: 'view-heading', dataset: { key: 'view-heading', ...(testid ? { testid } : {}) } }, text)
}

export function progressBar({ done, total }, testid, label) {
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
