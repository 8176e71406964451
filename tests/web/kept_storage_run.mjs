// web/kept-storage.js's answers to pyclient's reads, under node, over an in-memory Storage area
// (getItem/setItem/removeItem): for tests/web/test_kept_storage.py. Prints one JSON object: per
// read, what Python is handed (its kind) and whether it stands for the stored value exactly.
import { pathToFileURL } from 'node:url'

const [moduleFile] = process.argv.slice(2)
const { BYTES_FROM, keptStorage } = await import(pathToFileURL(moduleFile).href)

const values = new Map()
const area = {
  getItem: (key) => (values.has(key) ? values.get(key) : null),
  setItem: (key, value) => values.set(key, String(value)),
  removeItem: (key) => values.delete(key),
}
const storage = keptStorage(area)
const read = (key) => {
  const answer = storage.get(key)
  if (answer instanceof Uint8Array) return { kind: 'bytes', same: new TextDecoder().decode(answer) === values.get(key) }
  if (answer === null || answer === true) return { kind: String(answer) }
  return { kind: typeof answer, same: answer === values.get(key) }
}

const long = 'é✓😀'.repeat(Math.ceil(BYTES_FROM / 4)) // beyond ASCII, and a pair of surrogates
area.setItem('short', 'x'.repeat(BYTES_FROM - 1))
area.setItem('long', long)
area.setItem('lone', `\ud800${'x'.repeat(BYTES_FROM)}`) // no UTF-8 of it
const result = {
  bytesFrom: BYTES_FROM,
  missing: read('missing'),
  short: read('short'),
  long: read('long'),
  longUnchanged: read('long'),
  lone: read('lone'),
}
area.setItem('long', `${long}!`) // another tab's write
result.longChanged = read('long')
console.log(JSON.stringify(result))
