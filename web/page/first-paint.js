// The first paint: the cached snapshot in the progress panel, marked as loading, before the
// course, the rest of the page and Python load (app.js imports this module: its body runs before
// app.js's, in the page's one bundled module). app.js starts its state from the same cached
// snapshot.
import { readCachedSnapshot } from '../progress-client.js'
import { emptySnapshot } from '../snapshot.js'
import { savedLocale } from './preferences.js'
import { renderPanel } from './views/panel.js'

/** The cached snapshot of whoever is signed in (the guest otherwise), or null. */
export const cachedSnapshot = readCachedSnapshot()

renderPanel({ snapshot: cachedSnapshot || emptySnapshot(), locale: savedLocale() || 'en', content: null, ready: false, failed: false })
document.documentElement.dataset.progressCachedPaint = cachedSnapshot ? 'true' : 'empty'
performance.mark?.('progress-cached-paint')
