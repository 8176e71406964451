// The fixed words of index.html in the current locale (title, headings, buttons, dialogs) and
// the locale menu.
import { $, h } from '../dom.js'
import { tr } from '../locale.js'
import { state } from '../state.js'

const DEMO = { email: 'demo@example.com', password: 'demo-password' }

export function renderLabels() {
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
  $('sign-out-title').textContent = tr('signOutTitle')
  $('sign-out-stay').textContent = tr('staySignedIn')
  $('sign-out-anyway').textContent = tr('signOutAnyway')
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
