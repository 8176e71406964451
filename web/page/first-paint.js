// The first paint: the cached snapshot in the progress panel, marked as loading, before the
// course, the rest of the page and Python load (index.html runs this module on its own, as
// soon as it arrives). app.js starts its state from the same cached snapshot.
import { readCachedSnapshot } from '../progress-client.js'
import { emptySnapshot } from '../snapshot.js'
import { savedLocale } from './preferences.js'
import { renderPanel } from './views/panel.js'

/** The cached snapshot of whoever is signed in (the guest otherwise), or null. */
export const cachedSnapshot = readCachedSnapshot()

renderPanel({ snapshot: cachedSnapshot || emptySnapshot(), locale: savedLocale() || 'en', content: null, ready: false, failed: false })
document.documentElement.dataset.progressCachedPaint = cachedSnapshot ? 'true' : 'empty'
performance.mark?.('progress-cached-paint')
