// The account and reset controls: the reset dialog (asks first), the sign-in dialog (also
// opened by "session expired"), sign out, and the manual sync retry.
import { act, showError } from './act.js'
import { $ } from './dom.js'
import { signInFailureText } from './failures.js'
import { announce, focusFirst } from './focus.js'
import { tr, trn } from './locale.js'
import { saveEmail, savedEmail } from './preferences.js'
import { refresh } from './render.js'
import { go } from './router.js'
import { ready, state } from './state.js'

function wireReset() {
  const dialog = $('reset-dialog')
  $('reset-progress').addEventListener('click', () => {
    dialog.returnValue = ''
    dialog.showModal()
  })
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'confirm' || !ready()) return
    state.focusHeading = true // first: the reset's own render may draw the next view
    act(() => state.client.resetProgress())
    state.quizMode.clear()
    go('#/')
  })
}

function wireSignIn() {
  const dialog = $('sign-in-dialog')
  const open = () => {
    $('sign-in-error').hidden = true
    const remembered = savedEmail()
    if (remembered) $('sign-in-email').value = remembered
    dialog.showModal()
  }
  $('sign-in-open').addEventListener('click', open)
  $('session-sign-in').addEventListener('click', open)
  $('sign-in-cancel').addEventListener('click', () => dialog.close())
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
      saveEmail(email)
      state.signedOut = false
      dialog.close()
      refresh()
      // the button that opened the dialog is gone: on with the lesson area
      document.querySelector('#view .view-heading')?.focus()
      announce(tr('announce.signedIn', { who: email }))
    } catch (error) {
      const box = $('sign-in-error')
      box.textContent = signInFailureText(error)
      box.hidden = false
    } finally {
      submit.disabled = false
      submit.textContent = tr('signIn')
    }
  })
}

/** How long sign-out waits for pending changes to sync before asking. */
const SIGN_OUT_SYNC_MS = 4000

async function signOutNow() {
  try {
    await state.client.signOut()
    saveEmail(null)
    state.quizMode.clear()
    state.signedOut = true
    refresh()
    focusFirst('sign-in-open')
    announce(tr('announce.signedOut'))
  } catch (error) {
    console.error('Learning progress: sign-out failed', error)
    showError(tr('signOutFailed'))
  }
}

/** Pending changes are synced first (for a few seconds at most); what is left, the learner decides. */
async function syncBeforeSignOut() {
  if (!state.client.status.pending) return 0
  const button = $('sign-out')
  button.disabled = true
  button.textContent = tr('signingOut')
  try {
    const waited = new Promise((resolve) => setTimeout(resolve, SIGN_OUT_SYNC_MS))
    await Promise.race([state.client.sync().catch((error) => console.warn('Learning progress: sync before sign-out failed', error)), waited])
  } finally {
    button.disabled = false
    button.textContent = tr('signOut')
  }
  return state.client.status.pending
}

function wireSignOut() {
  const dialog = $('sign-out-dialog')
  $('sign-out').addEventListener('click', async () => {
    if (!ready()) return
    const left = await syncBeforeSignOut()
    if (!left) return signOutNow()
    $('sign-out-text').textContent = trn('signOutPending', { n: left })
    dialog.dataset.pending = String(left)
    dialog.returnValue = ''
    dialog.showModal()
  })
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'leave') signOutNow()
    else focusFirst('sign-out')
  })
}

function wireSyncRetry() {
  $('sync-retry').addEventListener('click', async () => {
    try {
      await state.client.sync()
    } catch (error) {
      console.warn('Learning progress: manual sync failed', error)
    }
    refresh()
  })
}

export function wireDialogs() {
  wireReset()
  wireSignIn()
  wireSignOut()
  wireSyncRetry()
}
