// A dedicated worker (a module) that reads files of the build off the page's main thread and
// hands each back with its sha256: python-boot.js reads the memory snapshot's heap (23 MB) and
// wheels (7 MB) so. Read on the page, the heap's chunks were taken in by the main thread while
// the runtime started, and hashing the files held it too (some 10 ms for the wheels); here both
// happen beside it, and the bytes are transferred to the page, not copied. Bytes from the
// service worker's precache are not hashed: it stored them only if they matched (PRECACHE_VERIFIED
// in ./snapshot-files.js).
//
// Asked: { url, precache, stallMs } (as readBuildFile in ./snapshot-files.js: precache, the
// precache's name or null; stallMs, how long nothing may arrive), any number of times; and
// { url, expect: { size, withinMs, deadline, askedAt } } for a file it is reading: give its
// download up when it would take longer (expectDownload, from askedAt; its answer is then the
// refusal). Answers each read once:
//   { url, buffer, sha256, precached }  the bytes (an ArrayBuffer), whether the precache held
//                                       them, and their hex sha256 (null when precached, or when
//                                       this worker has no WebCrypto)
//   { url, refused, message }           why they could not be read: a SnapshotRefused's reason
//                                       and message
import { SnapshotRefused, expectDownload, readBuildFile, sha256Hex } from './snapshot-files.js'

self.onmessage = async ({ data: { url, precache, stallMs, expect } }) => {
  if (expect) {
    expectDownload(url, expect.size, expect.withinMs, expect.deadline, expect.askedAt)
    return
  }
  let read
  try {
    read = await readBuildFile(url, precache, stallMs)
  } catch (error) {
    // answered whatever went wrong: the page waits for an answer
    const refused = error instanceof SnapshotRefused ? error : new SnapshotRefused('corrupt', `${new URL(url).pathname} could not be read: ${error?.message || error}`)
    self.postMessage({ url, refused: refused.reason, message: refused.message })
    return
  }
  const { bytes, precached } = read
  let sha256 = null
  try {
    if (!precached) sha256 = await sha256Hex(bytes)
  } catch {
    // no WebCrypto here: the page hashes the bytes itself (and says why it cannot)
  }
  self.postMessage({ url, buffer: bytes.buffer, sha256, precached }, [bytes.buffer])
}
