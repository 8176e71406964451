// The snapshot (LearningGuestProgress, DESIGN §3) as plain JS: its empty value, the item
// statuses and which of them count as done. pyclient's reducer computes every snapshot; this
// file only names what the page and the client read in one.

/** An item's status; an event never lowers it (not_started < in_progress < completed < passed). */
export const STATUS = Object.freeze({
  notStarted: 'not_started',
  inProgress: 'in_progress',
  completed: 'completed',
  passed: 'passed',
})

const DONE = new Set([STATUS.completed, STATUS.passed])

/** Completed and passed count as done (modules, paths, the lesson's "done" note, quiz results). */
export function isDoneStatus(status) {
  return DONE.has(status)
}

/** The status of an item in a snapshot; an item without an entry is not started. */
export function itemStatus(snapshot, contentId) {
  return snapshot?.content?.[contentId]?.status || STATUS.notStarted
}

export function isDone(snapshot, contentId) {
  return isDoneStatus(itemStatus(snapshot, contentId))
}

/** A fresh empty snapshot, the shape of LearningGuestProgress. */
export function emptySnapshot() {
  return {
    version: 1,
    content: {},
    onboarding: { completed: false, pathId: null, completedAt: null },
    activePathId: null,
    streak: { current: 0, longest: 0, lastActivityDate: null },
    lastUpdated: null,
  }
}
