// The host page: its own sign-in (POST /host/login) and token endpoint (GET /host/token), and
// the progress client created with getToken, so that the client never sees a password and
// renews an expired token by asking the host again.
import { createProgressClient } from '/progress-client.js'

const LESSONS = [
  ['intro', 'Introduction'],
  ['evidence', 'Weighing evidence'],
  ['base-rates', 'Base rates'],
]

// How many tokens the client asked for, and every state it went through (tests read both).
window.tokenRequests = 0
window.seenStates = []

async function getToken() {
  window.tokenRequests += 1
  const response = await fetch('/host/token', { credentials: 'same-origin' })
  if (!response.ok) return null // no one is signed in with the host
  return (await response.json()).token
}

const client = await createProgressClient({ apiBaseUrl: '/api/v1', getToken })
window.progressClient = client
document.documentElement.dataset.progressReady = 'true'

const statusBox = document.getElementById('status')
const list = document.getElementById('lessons')
const signInForm = document.getElementById('sign-in')
const signOutButton = document.getElementById('sign-out-button')

function render(snapshot, status) {
  window.seenStates.push(status.state)
  const who = status.userId ? `signed in as ${status.userId}` : 'guest'
  statusBox.textContent = `${who}, ${status.state}${status.pending ? ` (${status.pending} to send)` : ''}`
  signInForm.hidden = Boolean(status.userId)
  signOutButton.hidden = !status.userId
  list.replaceChildren(
    ...LESSONS.map(([id, title]) => {
      const item = document.createElement('li')
      const done = snapshot.content[id]?.status === 'completed'
      if (done) {
        item.textContent = `${title}: done`
        item.className = 'done'
      } else {
        const button = document.createElement('button')
        button.type = 'button'
        button.textContent = `Complete “${title}”`
        button.dataset.lesson = id
        button.addEventListener('click', () => client.recordProgress({ contentId: id, status: 'completed' }))
        item.append(button)
      }
      return item
    }),
  )
}

client.subscribe(render)
render(client.snapshot, client.status)

signInForm.addEventListener('submit', async (event) => {
  event.preventDefault()
  const name = new FormData(signInForm).get('name')
  const response = await fetch('/host/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  })
  if (response.ok) await client.signIn() // asks getToken, becomes that learner
})

signOutButton.addEventListener('click', async () => {
  await fetch('/host/logout', { method: 'POST' })
  await client.signOut()
})
