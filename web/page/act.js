// How the page reports a failure: in plain words on the page (#progress-error), the details in
// the console. Every write the page makes goes through act(), so that a failure is shown, never
// swallowed.
import { $ } from './dom.js'
import { tr } from './locale.js'

export function showError(message) {
  const box = $('progress-error')
  box.textContent = message
  box.hidden = false
}

export function act(fn) {
  try {
    return fn()
  } catch (error) {
    console.error('Learning progress: a change could not be saved', error)
    showError(tr('failure.save'))
    return undefined
  }
}
