// web/runtime-table.js's linking hook on a small module linked as Emscripten links the runtime:
// it imports function addresses from "GOT.func" and exports one function itself. The hook is
// given Emscripten's symbol table (`env`) with JS functions under those names; afterwards each
// name must hold something a Wasm table takes, and calling it must do what the JS function does.
// Prints one JSON object of findings.
import { pathToFileURL } from 'node:url'

const [moduleFile] = process.argv.slice(2)
const { linkedForSnapshot } = await import(pathToFileURL(moduleFile).href)

const leb = (n) => {
  const out = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}
const vec = (items) => [...leb(items.length), ...items.flat()]
const name = (s) => vec([...new TextEncoder().encode(s)].map((b) => [b]))
const section = (id, body) => [id, ...leb(body.length), ...body]

const GOT_FUNC = ['add', 'add_again', 'wide', 'halve', 'ping', 'own', 'nothing_here', 'no_sig', 'odd_sig', 'stub', 'native', 'number']
// imports: every name as a mutable i32 global of GOT.func, then GOT.mem's "data"; one function
// of its own, exported as "own"
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, 0x00, 0x00]])),
  ...section(2, vec([...GOT_FUNC, 'data'].map((n) => [...name(n === 'data' ? 'GOT.mem' : 'GOT.func'), ...name(n), 0x03, 0x7f, 0x01]))),
  ...section(3, vec([[0x00]])),
  ...section(7, vec([[...name('own'), 0x00, 0x00]])),
  ...section(10, vec([[0x02, 0x00, 0x0b]])),
])

const add = Object.assign((a, b) => a + b, { sig: 'iii' })
const env = {
  add,
  add_again: add, // one function under two names: one wrapper, so one table slot
  wide: Object.assign((x) => x * 2n, { sig: 'jj' }),
  halve: Object.assign((x) => x / 2, { sig: 'dd' }),
  ping: Object.assign(() => {
    env.pinged = (env.pinged ?? 0) + 1
  }, { sig: 'v' }),
  own: Object.assign(() => 'js', { sig: 'v' }), // the module exports it: Emscripten links the export
  no_sig: () => 1,
  odd_sig: Object.assign(() => 1, { sig: 'iq' }),
  stub: Object.assign(() => 1, { sig: 'i', stub: true }),
  native: Object.assign(Math.max.bind(null), { sig: 'iii' }),
  number: 7,
}
const before = { ...env }

let linked = null
const got = (names) => Object.fromEntries(names.map((n) => [n, new WebAssembly.Global({ value: 'i32', mutable: true }, -1)]))
const imports = { env, 'GOT.func': got(GOT_FUNC), 'GOT.mem': got(['data']) }
const instantiateWasm = (given, done) => {
  const module = new WebAssembly.Module(bytes)
  done(new WebAssembly.Instance(module, given), module)
}
linkedForSnapshot(instantiateWasm)(imports, (instance, module) => (linked = { instance, module }))

const table = new WebAssembly.Table({ element: 'anyfunc', initial: 1 })
const tableTakes = (f) => {
  try {
    table.set(0, f)
    return true
  } catch {
    return false
  }
}
const changed = Object.keys(before).filter((k) => env[k] !== before[k]).sort()
env.ping()
console.log(
  JSON.stringify({
    linked: linked !== null && typeof linked.instance.exports.own === 'function',
    changed,
    tableTakes: Object.fromEntries(changed.map((k) => [k, tableTakes(env[k])])),
    unchangedTableTakes: tableTakes(before.add),
    sameWrapper: env.add === env.add_again,
    add: env.add(2, 40),
    wide: String(env.wide(21n)),
    halve: env.halve(5),
    pinged: env.pinged,
  }),
)
