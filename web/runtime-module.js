// The runtime's Emscripten module as this page makes it, either boot: without WebAssembly stack
// switching (JSPI). Where the engine has it, Pyodide runs each Python callback of a promise (every
// step of an asyncio task) on a stack of its own, so that Python could wait for JS
// synchronously; pyclient never does (it awaits). In Chromium 156 a garbage collection scanning
// such a stack could read past its end and crash the renderer (seen in the page-load bench,
// at the same instruction each time: a conservative stack scan). Without it, Python runs on the
// one stack, as it does in Node (where the snapshot is made), Firefox ESR and WebKit.

// What the runtime looks for, once, as its module is made (the new API, then the old one).
const STACK_SWITCHING = ['Suspending', 'promising', 'Suspender']

/**
 * `make()`, with WebAssembly's stack-switching API hidden while it runs synchronously (the
 * runtime decides as its module starts to be made): its result.
 */
export function withoutStackSwitching(make) {
  const wasm = globalThis.WebAssembly
  const hidden = []
  for (const name of STACK_SWITCHING) {
    const property = Object.getOwnPropertyDescriptor(wasm, name)
    if (property?.configurable && delete wasm[name]) hidden.push([name, property])
  }
  try {
    return make()
  } finally {
    for (const [name, property] of hidden) Object.defineProperty(wasm, name, property)
  }
}

/** A `createPyodideModule` for loadPyodide: the runtime's module from `asmURL`, made so. */
export function createRuntimeModule(asmURL) {
  return async (settings) => {
    const { default: createModule } = await import(asmURL)
    return withoutStackSwitching(() => createModule(settings))
  }
}
