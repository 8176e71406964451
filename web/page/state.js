// What the page shows, in one object: the locale and its content, the client once it is ready,
// the latest snapshot and status it gave, and what only the page remembers (quiz modes, the
// lesson already recorded as opened, where focus goes after the next render).
import { emptySnapshot } from '../snapshot.js'

export const state = {
  locale: 'en',
  locales: null, // {defaultLocale, locales}
  content: null, // loadContent() result for state.locale
  contentError: null,
  client: null,
  failed: false,
  snapshot: emptySnapshot(), // the cached one until the client is ready (app.js)
  status: null,
  quizMode: new Map(), // contentId -> 'answer' | 'result', for the item on screen
  opened: null, // the route key whose "opened" in_progress event was already considered
  focusHeading: false,
}

/** True once the client is ready: until then the page is read-only. */
export const ready = () => !!state.client
