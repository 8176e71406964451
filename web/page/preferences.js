// The page's own preferences in localStorage: the chosen locale and the email last signed in
// with. Progress is never read here: progress-client.js is the page's only store of it.

const LOCALE_KEY = 'learning_locale'
const EMAIL_KEY = 'learning_account_email'

function get(key) {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

function set(key, value) {
  try {
    if (value === null) localStorage.removeItem(key)
    else localStorage.setItem(key, value)
  } catch {
    // storage full: a preference is not worth a warning, the quota banner covers it
  }
}

export const savedLocale = () => get(LOCALE_KEY)
export const saveLocale = (code) => set(LOCALE_KEY, code)
export const savedEmail = () => get(EMAIL_KEY)
/** Remember the email (null forgets it). */
export const saveEmail = (email) => set(EMAIL_KEY, email)
