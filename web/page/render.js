// The render loop: render() redraws the whole page from `state` with the drawing app.js sets;
// a write made while rendering (a lesson recorded as opened) makes it draw once more after.
import { state } from './state.js'

let draw = () => {}
let rendering = false
let again = false

export function setDraw(fn) {
  draw = fn
}

export function render() {
  if (rendering) {
    again = true
    return
  }
  rendering = true
  try {
    do {
      again = false
      draw()
    } while (again)
  } finally {
    rendering = false
  }
}

/** After an awaited client call: take its latest snapshot and status, then render. */
export function refresh() {
  if (state.client) {
    state.snapshot = state.client.snapshot
    state.status = state.client.status
  }
  render()
}
