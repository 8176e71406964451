// A host app that loads the client from the learning site at run time (its stable address,
// `/progress-client.js` on that origin) and takes only the types from progress-client.d.ts,
// kept beside its own sources (here: web/). The `import type` is erased: nothing but the
// declarations is read at compile time, and nothing but the URL at run time.

import type * as Progress from '../../web/progress-client.js'

const MODULE_URL: string = '/progress-client.js'

export async function startFromUrl(render: (text: string) => void): Promise<Progress.ProgressClient> {
  const api = (await import(MODULE_URL)) as typeof Progress
  const client = await api.createProgressClient({ apiBaseUrl: '/api/v1' })
  client.subscribe((snapshot, status) => {
    const done = Object.values(snapshot.content).filter((item) => item.completedAt !== null).length
    render(`${done} done · ${status.state}`)
  })
  return client
}
