// What the page shows, in one object: the locale and its content, the client once it is ready,
// the latest snapshot and status it gave (before that the cached snapshot with the actions queued
// meanwhile), and what only the page remembers (quiz modes, the
// lesson already recorded as opened, where focus goes after the next render).
import { emptySnapshot } from '../snapshot.js'

export const state = {
  locale: 'en',
  locales: null, // {defaultLocale, locales}
  content: null, // loadContent() result for state.locale
  contentError: null,
  client: null,
  failed: false,
  cached: emptySnapshot(), // the cached snapshot, shown until the client is ready (app.js)
  snapshot: emptySnapshot(), // what is shown: the client's, or the cached one with queued actions
  pendingIds: new Set(), // items with an action queued before the client was ready (record.js)
  status: null,
  quizMode: new Map(), // contentId -> 'answer' | 'result', for the item on screen
  opened: null, // the route key whose "opened" in_progress event was already considered
  focusHeading: false,
  milestone: null, // {kind: 'module'|'path', key, text}: what the last action finished (guidance.js)
  signedOut: false, // signed out in this visit: the view says the account keeps the progress
}

/** True once the client is ready; until then actions are queued (record.js). */
export const ready = () => !!state.client
