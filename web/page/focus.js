// Where keyboard focus goes, and what is said to assistive technology: focus stays on the same
// control when the view is drawn again, moves on purpose after an action that replaces the
// control it was on (Mark complete, a quiz answer, signing in or out), and each outcome is
// announced in one polite live region (#announcer).
import { $ } from './dom.js'

/** The key of the focused control of `root` (its data-key, else its test id), or null. */
export function focusKey(root) {
  const el = document.activeElement
  if (!el || !root.contains(el)) return null
  return el.dataset?.key || el.dataset?.testid || null
}

/** Focus the control of `root` that has `key` (as data-key or test id). */
export function restoreFocus(root, key) {
  if (!key) return
  const q = CSS.escape(key)
  root.querySelector(`[data-key="${q}"], [data-testid="${q}"]`)?.focus()
}

/** Focus the first of these test ids that is on screen; true when one was. */
export function focusFirst(...testids) {
  for (const id of testids) {
    const el = document.querySelector(`[data-testid="${CSS.escape(id)}"]`)
    if (el && el.getClientRects().length) {
      el.focus()
      return true
    }
  }
  return false
}

let pending = null

/** Say `text` politely (after what is being said); the same text twice is said twice. */
export function announce(text) {
  const region = $('announcer')
  if (!region) return
  region.textContent = ''
  clearTimeout(pending)
  pending = setTimeout(() => {
    region.textContent = text
  }, 50)
}
