// How the page reports a failure: on the page (#progress-error) and in the console. Every write
// the page makes goes through act(), so that a failure is shown, never swallowed.
import { $ } from './dom.js'

export function showError(message) {
  const box = $('progress-error')
  box.textContent = message
  box.hidden = false
}

export function act(fn) {
  try {
    return fn()
  } catch (error) {
    console.error('Learning progress:', error)
    showError(error?.message || String(error))
    return undefined
  }
}
