// The runtime's function table as a memory snapshot needs it, and linked faster: Emscripten's
// linking of the instantiated runtime (its exports and the JS functions the C code takes the
// address of, each given a table slot) wrapped by linkedForSnapshot, for ./memory-snapshot.js.
// Every slot ends where Emscripten puts it on an engine that hands out one object per function
// (on one that does not, the exports' second slots are left out: the maker's layout); the
// snapshot's layout check (the .so files' table ranges, the engine's entry count) would refuse
// one that moved.

/**
 * Pyodide's `instantiateWasm` (Emscripten's hook: `(imports, done)`), handing Emscripten an
 * instance whose exports are the table's own functions where the engine hands out others, and
 * with the JS functions the runtime links by address already made Wasm functions.
 */
export function linkedForSnapshot(instantiateWasm) {
  // Emscripten keeps its instantiateWasm for the page's life: made out here, so that it does
  // not keep the restore's closures (and through them the snapshot's bytes) alive.
  return (imports, done) =>
    instantiateWasm(imports, (instance, module) => {
      const restore = wrapLinkedJsFunctions(imports.env, instance, module)
      try {
        done(withTableFunctions(instance), module) // Emscripten links the runtime in this call
      } finally {
        restore()
      }
    })
}

// Emscripten gives every exported function a table slot (its address) unless the function is
// already in the table, which it finds by identity (table.get(i) === the export). WebKit hands
// out another object from the table than from the exports for the same function, so there 972
// exports got a second slot, interleaved with the others: every slot from the first of them on
// was not where the snapshot's maker had it (the table past the snapshot's base, refused).
// Handing Emscripten the table's own object for each export the table holds (found by name: a
// Wasm function's name is its index in the module) gives every engine the same slots; where
// they are identical already, nothing changes.
function withTableFunctions(instance) {
  const exports = instance?.exports
  const table = exports?.__indirect_function_table
  if (!(table instanceof WebAssembly.Table) || tableKeepsIdentity()) return instance
  const inTable = new Map()
  for (let i = 0; i < table.length; i++) {
    const func = table.get(i)
    if (typeof func === 'function' && /^\d+$/.test(func.name) && !inTable.has(func.name)) inTable.set(func.name, func)
  }
  let replaced = 0
  const same = {}
  for (const [key, value] of Object.entries(exports)) {
    const own = typeof value === 'function' ? inTable.get(value.name) : undefined
    if (own && own !== value) replaced++
    same[key] = own ?? value
  }
  return replaced ? { exports: same } : instance
}

// A module of one function, exported and placed in an exported table ("f", "t").
const IDENTITY_PROBE = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: () -> ()
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x04, 0x04, 0x01, 0x70, 0x00, 0x01, // a funcref table of 1
  0x07, 0x09, 0x02, 0x01, 0x66, 0x00, 0x00, 0x01, 0x74, 0x01, 0x00, // exports "f", "t"
  0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00, // the function at slot 0
  0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // its body: nothing
]

/**
 * Whether this engine hands out one object for a function from its table and from the exports
 * (V8 does, WebKit does not): then there is nothing to replace, and the walk over the runtime's
 * table (tens of ms on the main thread) is skipped. Tested, not assumed from the engine's name.
 */
function tableKeepsIdentity() {
  try {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(IDENTITY_PROBE)))
    return exports.t.get(0) === exports.f
  } catch {
    return false // a Wasm this probe cannot run in: walk the table
  }
}

// Emscripten's letters for Wasm value types in a signature ("vii": returns nothing, takes two
// i32), as its own convertJsFunctionToWasm reads them.
const VALUE_TYPES = { i: 0x7f, p: 0x7f, j: 0x7e, f: 0x7d, d: 0x7c, e: 0x6f }

function leb128(n) {
  const bytes = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n) byte |= 0x80
    bytes.push(byte)
  } while (n)
  return bytes
}
const vector = (items) => [...leb128(items.length), ...items.flat()]
const section = (id, body) => [id, ...leb128(body.length), ...body]
const wasmName = (text) => vector([...new TextEncoder().encode(text)].map((b) => [b]))

// The function type of `sig`, or null where it has a letter this does not know.
function funcType(sig) {
  const params = [...sig.slice(1)].map((c) => [VALUE_TYPES[c]])
  const results = sig[0] === 'v' ? [] : [[VALUE_TYPES[sig[0]]]]
  if (params.some(([t]) => t === undefined) || results.some(([t]) => t === undefined)) return null
  return [0x60, ...vector(params), ...vector(results)]
}

/**
 * One module that imports `funcs` (JS functions with an Emscripten `sig`) and exports each as
 * it is: the engine makes every one a Wasm function, as Emscripten's convertJsFunctionToWasm
 * does one module at a time. Their exports "0", "1", … in the order of `funcs`.
 */
function wasmWrappers(funcs) {
  const sigs = [...new Set(funcs.map((f) => f.sig))]
  const types = sigs.map(funcType)
  const imports = funcs.map((f, i) => [...wasmName('e'), ...wasmName(String(i)), 0x00, ...leb128(sigs.indexOf(f.sig))])
  const exports = funcs.map((_, i) => [...wasmName(String(i)), 0x00, ...leb128(i)])
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector(imports)),
    ...section(7, vector(exports)),
  ])
  const e = Object.fromEntries(funcs.map((f, i) => [String(i), f]))
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { e }).exports
}

// A function written in JS: not a Wasm function, nor any other the engine made (those Emscripten
// does not wrap either).
const isJsFunction = (f) => !/\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(f))

/**
 * The C code takes the address of about 260 JS functions (the runtime's GOT.func imports that
 * it does not export). Emscripten gives each a table slot once the runtime is instantiated,
 * and, since a table holds only Wasm functions, first compiles and instantiates a module of its
 * own around each: about 30 ms of the main thread in every start (a CPU profile in Chromium).
 * Here the same functions are made Wasm functions by one module (4–8 ms), and stand in for them
 * in `env` (Emscripten's symbol table, where its linking finds them) while Emscripten links the
 * runtime: it gives them the same slots, in the same order (one per function, as before), with
 * nothing left to compile. Returns what puts the JS functions back, so that what links later (a
 * .so, `dlsym`) finds them as Emscripten left them: a .so's GOT entries of the same names keep
 * these slots; only `dlsym` of one of them would now get a slot of its own. Anything this cannot
 * wrap stays as it is.
 */
function wrapLinkedJsFunctions(env, instance, module) {
  const nothing = () => {}
  if (!env || typeof env !== 'object' || !(module instanceof WebAssembly.Module)) return nothing
  const names = []
  const funcs = new Map() // function -> its index among the wrapped
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    if (from !== 'GOT.func' || name in instance.exports) continue // exports are linked as they are
    const f = env[name]
    if (typeof f !== 'function' || f.stub || typeof f.sig !== 'string' || !funcType(f.sig) || !isJsFunction(f)) continue
    names.push(name)
    if (!funcs.has(f)) funcs.set(f, funcs.size)
  }
  if (!funcs.size) return nothing
  let wrapped
  try {
    wrapped = wasmWrappers([...funcs.keys()])
  } catch {
    return nothing // Emscripten wraps them one by one, as it always did
  }
  const originals = names.map((name) => [name, env[name]])
  for (const [name, f] of originals) env[name] = wrapped[String(funcs.get(f))]
  return () => {
    for (const [name, f] of originals) env[name] = f
  }
}
