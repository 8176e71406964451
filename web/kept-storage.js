// The JS half of pyclient's LocalStorage port (pyclient/adapters/pyodide.py): a Storage area
// with the last value read or written per key kept as a JS string, so that a read of an
// unchanged value is compared in JS and answered `true` (Python keeps its own copy) instead of
// copying a log of several hundred KB into Python again on every write. progress-client.js
// hands it to Python as the module `pyclient_js` (pyodide.registerJsModule): a module, not a
// string given to eval, so that the page's policy needs no 'unsafe-eval'.

// A value of at least this many characters read anew is handed to Python as its UTF-8 bytes:
// Pyodide converts a JS string to Python character by character in JS (a start at 10k events of
// history reads some 170 KB), bytes in one copy, which Python decodes natively. Only a
// well-formed string: TextEncoder would replace a lone surrogate, which the string keeps.
export const BYTES_FROM = 1024
const encoder = new TextEncoder()

export function keptStorage(area) {
  const kept = new Map()
  return {
    get(key) {
      const value = area.getItem(key)
      if (value === null) {
        kept.delete(key)
        return null
      }
      if (kept.get(key) === value) return true
      kept.set(key, value)
      return value.length >= BYTES_FROM && value.isWellFormed?.() ? encoder.encode(value) : value
    },
    set(key, value) {
      kept.delete(key)
      area.setItem(key, value)
      kept.set(key, value)
    },
    remove(key) {
      kept.delete(key)
      area.removeItem(key)
    },
    forget(key) {
      kept.delete(key)
    },
  }
}
