// A quiz: choose an option (in_progress, the answer kept as the interaction's state), submit it
// (right: passed with the quiz's score; wrong: recorded as completed with 0, which the learner
// sees as "not passed yet": outcome.js) and try again (clears the answer, never lowers the
// status). Which of "answer" or "result" shows is state.quizMode.
import { act } from '../act.js'
import { h } from '../dom.js'
import { announce, focusFirst } from '../focus.js'
import { tr } from '../locale.js'
import { render } from '../render.js'
import { acknowledge, milestones } from '../guidance.js'
import { bestScore } from '../outcome.js'
import { recordProgress } from '../record.js'
import { state } from '../state.js'
import { STATUS, isDoneStatus, itemStatus } from '../../snapshot.js'

function selectedOption(item) {
  const entry = state.snapshot.content?.[item.contentId]
  return entry?.interactions?.[item.interactionId]?.selectedOptionId ?? null
}

function chooseOption(item, optionId) {
  act(() =>
    recordProgress({
      contentId: item.contentId,
      status: STATUS.inProgress,
      contentVersion: item.contentVersion,
      interaction: { interactionId: item.interactionId, state: { kind: 'quiz', selectedOptionId: optionId } },
    }),
  )
}

function submitQuiz(item, place) {
  const selected = selectedOption(item)
  if (!selected) return
  const correct = selected === item.correctOptionId
  const before = milestones(place.path, place.module)
  state.quizMode.set(item.contentId, 'result')
  act(() =>
    recordProgress({
      contentId: item.contentId,
      status: correct ? STATUS.passed : STATUS.completed,
      score: correct ? item.score : 0,
      contentVersion: item.contentVersion,
      interaction: { interactionId: item.interactionId, state: { kind: 'quiz', selectedOptionId: selected } },
    }),
  )
  render()
  const best = bestScore(state.snapshot, item)
  if (correct) {
    focusFirst('item-next', 'item-back', 'quiz-retry')
    announce(tr('correct', { score: item.score, outOf: item.score }))
    acknowledge(place.path, place.module, before)
    render()
  } else {
    focusFirst('quiz-retry')
    announce(`${tr('itemStatus.not_passed')}. ${best ? tr('bestScore', best) : ''}`)
  }
}

function retryQuiz(item) {
  state.quizMode.set(item.contentId, 'answer')
  const status = itemStatus(state.snapshot, item.contentId)
  act(() =>
    recordProgress({
      contentId: item.contentId,
      // never lowers the status: a retry only clears the answer
      status: status === STATUS.notStarted ? STATUS.inProgress : status,
      contentVersion: item.contentVersion,
      interaction: { interactionId: item.interactionId, state: null },
    }),
  )
  render()
  document.querySelector(`[data-testid^="quiz-option-"]`)?.focus()
}

export function quizBody(item, status, place) {
  const selected = selectedOption(item)
  let mode = state.quizMode.get(item.contentId)
  if (!mode) {
    mode = isDoneStatus(status) && selected ? 'result' : 'answer'
    state.quizMode.set(item.contentId, mode)
  }
  if (mode === 'result' && !selected) mode = 'answer' // cleared elsewhere (another tab)
  const showResult = mode === 'result'
  const name = `quiz-${item.contentId}`
  const options = item.options.map((option) => {
    const mark = showResult
      ? option.id === item.correctOptionId
        ? ' correct'
        : option.id === selected
          ? ' wrong'
          : ''
      : ''
    return h(
      'label',
      { className: `option${mark}` },
      h('input', {
        type: 'radio',
        name,
        value: option.id,
        checked: option.id === selected,
        disabled: showResult,
        dataset: { testid: `quiz-option-${option.id}`, key: `option-${option.id}` },
        onchange: () => chooseOption(item, option.id),
      }),
      h('span', {}, option.text),
    )
  })
  const correct = selected === item.correctOptionId
  const best = bestScore(state.snapshot, item)
  const answerText = item.options.find((o) => o.id === item.correctOptionId)?.text || ''
  return h(
    'form',
    {
      className: 'quiz',
      onsubmit: (ev) => {
        ev.preventDefault()
        submitQuiz(item, place)
      },
    },
    h('fieldset', {}, h('legend', {}, item.question), options),
    showResult
      ? h(
          'div',
          { className: 'result', dataset: { testid: 'quiz-result', result: correct ? 'correct' : 'wrong' } },
          h('p', {}, h('strong', {}, correct ? tr('correct', { score: item.score, outOf: item.score }) : tr('wrong', { answer: answerText }))),
          correct ? null : h('p', { dataset: { testid: 'quiz-not-passed' } }, tr('notPassed')),
          item.explanation ? h('p', {}, item.explanation) : null,
          best ? h('p', { className: 'count', dataset: { testid: 'quiz-best-score' } }, tr('bestScore', best)) : null,
        )
      : null,
    h(
      'div',
      { className: 'quiz-actions' },
      showResult
        ? h('button', {
            type: 'button',
            className: 'secondary',
            dataset: { testid: 'quiz-retry', key: 'quiz-retry' },
            onclick: () => retryQuiz(item),
          }, tr('tryAgain'))
        : h('button', {
            type: 'submit',
            disabled: !selected,
            dataset: { testid: 'quiz-submit', key: 'quiz-submit' },
          }, tr('submit')),
    ),
  )
}
