// The page's language: which locale to show (the saved choice, then the browser's), the course
// of that locale loaded into state, switching it, and tr(), the current locale's words.
import { loadContent, loadLocales } from './content.js'
import { t, tn } from './i18n.js'
import { saveLocale, savedLocale } from './preferences.js'
import { render } from './render.js'
import { state } from './state.js'

export const tr = (key, params) => t(state.locale, key, params)
/** The plural form of `key` for params.n. */
export const trn = (key, params) => tn(state.locale, key, params)

function pickLocale(locales) {
  const codes = locales.locales.map((l) => l.code)
  const saved = savedLocale()
  if (saved && codes.includes(saved)) return saved
  for (const lang of navigator.languages || []) {
    const code = lang.toLowerCase().split('-')[0]
    if (codes.includes(code)) return code
  }
  return locales.defaultLocale
}

/** At start: the locales, the locale to show, and its course; then render. */
export async function loadCourse() {
  try {
    state.locales = await loadLocales()
    state.locale = pickLocale(state.locales)
    state.content = await loadContent(state.locale)
  } catch (error) {
    state.contentError = error?.message || String(error)
    console.error('Learning progress: the course could not be loaded', error)
  }
  render()
}

export async function setLocale(code) {
  saveLocale(code)
  state.locale = code
  try {
    state.content = await loadContent(code)
    state.contentError = null
  } catch (error) {
    state.contentError = error?.message || String(error)
  }
  render()
}
