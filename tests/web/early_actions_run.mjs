// Drives web/early-actions.js (as built into dist/web) under node with an in-memory storage and a
// clock the scenario sets, and prints what each scenario produced as one JSON object for
// tests/web/test_early_actions.py to check (against pyclient's reading of the queue, too).
//   node tests/web/early_actions_run.mjs <dist/web/app-<hash>>
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const app = process.argv[2]
const mod = await import(pathToFileURL(path.join(app, 'early-actions.js')).href)
const keys = await import(pathToFileURL(path.join(app, 'storage-keys.js')).href)

class MemoryStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries))
  }
  get length() {
    return this.map.size
  }
  key(i) {
    return [...this.map.keys()][i] ?? null
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null
  }
  setItem(k, v) {
    this.map.set(k, String(v))
  }
  removeItem(k) {
    this.map.delete(k)
  }
  dump() {
    return Object.fromEntries(this.map)
  }
}

const realNow = Date.now
const at = (iso) => (Date.now = () => Date.parse(iso))
const out = {}

// clientIdOf: created once; a bare id read as it is; an unreadable value kept aside
{
  const s = new MemoryStorage()
  out.createdId = [mod.clientIdOf(s), mod.clientIdOf(s), s.dump()]
  const bare = new MemoryStorage({ [keys.CLIENT_ID_KEY]: 'bare-client' })
  out.bareId = [mod.clientIdOf(bare), bare.dump()]
  at('2026-12-01T10:00:00.000Z')
  const bad = new MemoryStorage({ [keys.CLIENT_ID_KEY]: '{"v":9}' })
  out.badId = [mod.clientIdOf(bad), bad.dump()]
}

// queueAction: one key per action, the stored session's user, never-decreasing occurredAt
{
  const s = new MemoryStorage({ [keys.CLIENT_ID_KEY]: JSON.stringify({ v: 1, clientId: 'c-1' }) })
  at('2026-12-01T10:00:00.000Z')
  const a = mod.queueAction('content.progressed', { contentId: 'lesson-a', status: 'completed' }, s)
  const b = mod.queueAction('content.progressed', { contentId: 'lesson-b', status: 'in_progress' }, s)
  at('2026-12-01T09:59:00.000Z') // the clock steps back
  const c = mod.queueAction('activePath.set', { pathId: null }, s)
  s.setItem(keys.SESSION_KEY, JSON.stringify({ v: keys.SESSION_FORMAT_VERSION, userId: 'u-1', token: 't' }))
  at('2026-12-01T10:05:00.000Z')
  const d = mod.queueAction('onboarding.completed', { pathId: 'path-1' }, s)
  s.setItem(`${keys.QUEUE_PREFIX}:broken`, '{not json')
  s.setItem(`${keys.QUEUE_PREFIX}:x:corrupt:2026-12-01T00:00:00.000Z`, '{"v":1}')
  out.queued = { ids: [a, b, c, d], storage: s.dump(), read: mod.queuedActions(s) }
}

// previewQueued: what shows over a snapshot until the engine's replaces it
{
  const base = {
    version: 1,
    content: { quiz: { status: 'passed', score: 10, interactions: { q: { kind: 'quiz', selectedOptionId: 'a' } } } },
    onboarding: { completed: false, pathId: null, completedAt: null },
    activePathId: null,
    streak: { current: 0, longest: 0, lastActivityDate: null },
    lastUpdated: '2026-11-30T10:00:00.000Z',
  }
  const before = JSON.stringify(base)
  const ev = (type, occurredAt, payload) => ({ eventId: occurredAt, occurredAt, clientId: 'c', type, payload })
  const { snapshot, pendingIds } = mod.previewQueued(base, [
    ev('content.progressed', '2026-12-01T10:00:00.001Z', { contentId: 'lesson', status: 'completed' }),
    ev('content.progressed', '2026-12-01T10:00:00.002Z', { contentId: 'lesson', status: 'in_progress' }),
    ev('content.progressed', '2026-12-01T10:00:00.003Z', { contentId: 'quiz', status: 'completed', score: 5, interaction: { interactionId: 'q', state: null } }),
    ev('onboarding.completed', '2026-12-01T10:00:00.004Z', { pathId: 'p' }),
    ev('activePath.set', '2026-12-01T10:00:00.005Z', { pathId: 'p' }),
  ])
  out.preview = { snapshot, pendingIds: [...pendingIds].sort(), baseUnchanged: JSON.stringify(base) === before }
  out.previewNothing = mod.previewQueued(base, []).snapshot === base
}

Date.now = realNow
process.stdout.write(JSON.stringify(out))
