// A dedicated worker (a module) that reads one file of the build off the page's main thread and
// hands it back with its sha256: python-boot.js reads the memory snapshot's heap (23 MB) so.
// Read on the page, the body's chunks were taken in by the main thread while the runtime
// started, and hashing copied the whole heap there once more; here both happen beside it, and
// the bytes are transferred to the page, not copied.
//
// Asked: { url, precache } (precache: the page is controlled by the service worker, whose
// precache holds the build's files: read from it directly, as the page would). Answers once:
//   { buffer, sha256 }                      the bytes (an ArrayBuffer) and their hex sha256
//                                           (null when this worker has no WebCrypto)
//   { failed: 'fetch', message }            the request failed
//   { failed: 'status', status }            the answer was not 2xx
//   { failed: 'read', message }             the body was cut short
//   { failed: 'error', message }            anything else went wrong
import { precachedResponse, sha256Hex } from './snapshot-files.js'

self.onmessage = async ({ data: { url, precache } }) => {
  try {
    await read(url, precache)
  } catch (error) {
    // anything else: answered all the same (the page waits for an answer)
    self.postMessage({ failed: 'error', message: String(error?.message || error) })
  }
}

async function read(url, precache) {
  let response
  try {
    response = (precache && (await precachedResponse(url))) || (await fetch(url))
  } catch (error) {
    self.postMessage({ failed: 'fetch', message: String(error?.message || error) })
    return
  }
  if (!response.ok) {
    self.postMessage({ failed: 'status', status: response.status })
    return
  }
  let buffer
  try {
    buffer = await response.arrayBuffer()
  } catch (error) {
    self.postMessage({ failed: 'read', message: String(error?.message || error) })
    return
  }
  let sha256 = null
  try {
    sha256 = await sha256Hex(new Uint8Array(buffer))
  } catch {
    // no WebCrypto here: the page hashes the bytes itself (and says why it cannot)
  }
  self.postMessage({ buffer, sha256 }, [buffer])
}
