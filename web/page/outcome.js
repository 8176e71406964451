// What an item's progress means to the learner, read from the snapshot: a lesson is done once
// completed; a quiz is done only once passed (a wrong answer is recorded as "completed" with a
// score of 0: for the learner that is "not passed yet"). The events and the reducer stay as they
// are; this is only how the page reads them. A quiz's scale is the score its right answer gives.
import { STATUS, itemStatus } from '../snapshot.js'

export const NOT_PASSED = 'not_passed'

/** A quiz (by its content, or, before the content loads, by having a score at all). */
function isQuiz(snapshot, contentId, item) {
  if (item) return item.kind === 'quiz'
  const score = snapshot?.content?.[contentId]?.score
  return score !== null && score !== undefined
}

/** not_started | in_progress | completed | passed | not_passed */
export function outcomeOf(snapshot, contentId, item) {
  const status = itemStatus(snapshot, contentId)
  if (isQuiz(snapshot, contentId, item) && status === STATUS.completed) return NOT_PASSED
  return status
}

/** Done for the learner: a lesson completed (or passed), a quiz passed. */
export function isItemDone(snapshot, contentId, item) {
  const outcome = outcomeOf(snapshot, contentId, item)
  return outcome === STATUS.completed || outcome === STATUS.passed
}

/** The best score and the quiz's scale ({score, outOf}), or null before any attempt. */
export function bestScore(snapshot, item) {
  const score = snapshot?.content?.[item.contentId]?.score
  if (score === null || score === undefined) return null
  return { score, outOf: item.score }
}
