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

const got = (names) => Object.fromEntries(names.map((n) => [n, new WebAssembly.Global({ value: 'i32', mutable: true }, -1)]))
const instantiateWasm = (given, done) => {
  const module = new WebAssembly.Module(bytes)
  done(new WebAssembly.Instance(module, given), module)
}

const probe = new WebAssembly.Table({ element: 'anyfunc', initial: 1 })
const tableTakes = (f) => {
  try {
    probe.set(0, f)
    return true
  } catch {
    return false
  }
}

// Emscripten's linking, as its reportUndefinedSymbols and addFunction do it: each GOT.func
// import the module does not export, in import order, gets its function's table slot (one per
// function); a JS function is wrapped on its own first (convertJsFunctionToWasm). What each
// name's slot is, and which env functions the table holds.
function emscriptenLinks(envAt, instance, module) {
  const table = new WebAssembly.Table({ element: 'anyfunc', initial: 1 }) // slot 0: null
  const slotOf = new Map()
  const slots = {}
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    const f = envAt[name]
    if (from !== 'GOT.func' || name in instance.exports || typeof f !== 'function' || f.stub) continue
    // (Emscripten would fail to link a JS function with no signature it can read: left out)
    if (!tableTakes(f) && !/^[vijfdpe]+$/.test(f.sig ?? '')) continue
    if (!slotOf.has(f)) {
      const slot = table.grow(1)
      table.set(slot, tableTakes(f) ? f : singleWrapper(f))
      slotOf.set(f, slot)
    }
    slots[name] = slotOf.get(f)
  }
  return { slots, envSeen: { ...envAt } }
}

// convertJsFunctionToWasm's module for one function.
function singleWrapper(f) {
  const codes = { i: 0x7f, p: 0x7f, j: 0x7e, f: 0x7d, d: 0x7c, e: 0x6f }
  const params = [...f.sig.slice(1)].map((c) => codes[c])
  const results = f.sig[0] === 'v' ? [] : [codes[f.sig[0]]]
  const type = [0x60, params.length, ...params, results.length, ...results]
  const module = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...name('e'), ...name('f'), 0x00, 0x00]])),
    ...section(7, vec([[...name('f'), 0x00, 0x00]])),
  ])
  return new WebAssembly.Instance(new WebAssembly.Module(module), { e: { f } }).exports.f
}

const before = { ...env }
let linked = null
const imports = { env, 'GOT.func': got(GOT_FUNC), 'GOT.mem': got(['data']) }
linkedForSnapshot(instantiateWasm)(imports, (instance, module) => {
  linked = { instance, module, ...emscriptenLinks(env, instance, module) }
})
const envAfter = { ...env }
const plainEnv = { ...before }
let plain = null
instantiateWasm({ env: plainEnv, 'GOT.func': got(GOT_FUNC), 'GOT.mem': got(['data']) }, (instance, module) => {
  plain = emscriptenLinks(plainEnv, instance, module)
})

// what the hook put in env while Emscripten linked
const seen = linked.envSeen
const changed = Object.keys(before).filter((k) => seen[k] !== before[k]).sort()
seen.ping()
console.log(
  JSON.stringify({
    linked: linked !== null && typeof linked.instance.exports.own === 'function',
    changed,
    tableTakes: Object.fromEntries(changed.map((k) => [k, tableTakes(seen[k])])),
    unchangedTableTakes: tableTakes(before.add),
    sameWrapper: seen.add === seen.add_again,
    add: seen.add(2, 40),
    wide: String(seen.wide(21n)),
    halve: seen.halve(5),
    pinged: env.pinged,
    slots: linked.slots,
    plainSlots: plain.slots,
    restored: Object.keys(before).every((k) => envAfter[k] === before[k]),
  }),
)
