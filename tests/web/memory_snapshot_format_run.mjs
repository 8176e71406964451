// The sparse form of a memory snapshot (web/snapshot-files.js) on synthetic Pyodide snapshots:
// each made sparse, read back, and restored into a heap full of other bytes must give the heap
// back byte for byte; cut or padded files must be refused. Prints one JSON object of results.
import { pathToFileURL } from 'node:url'

const [moduleFile] = process.argv.slice(2)
const { restoreSparse, snapshotHeader, sparseSnapshot } = await import(pathToFileURL(moduleFile).href)

let seed = 7
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)

function pyodideSnapshot(pages, zeroShare) {
  const json = new TextEncoder().encode(JSON.stringify({ hiwireKeys: [], immortalKeys: ['x'] }))
  const offset = Math.ceil((48 + json.length) / 16) * 16
  const out = new Uint8Array(offset + pages * 4096)
  const view = new DataView(out.buffer)
  view.setUint32(0, 0x706e7300, true)
  view.setUint32(4, offset, true)
  view.setUint32(8, json.length, true)
  for (let i = 0; i < 8; i++) view.setUint32(16 + 4 * i, 0x01234567 + i, true)
  out.set(json, 48)
  for (let p = 0; p < pages; p++) {
    if (random() < zeroShare) continue
    const at = offset + p * 4096
    if (random() < 0.3) out[at + (random() < 0.5 ? 0 : 4095)] = 1 + Math.floor(random() * 255) // one byte
    else for (let i = 0; i < 4096; i++) out[at + i] = Math.floor(random() * 256)
  }
  return { out, offset }
}

const results = { roundTrips: 0, mismatches: [], cuts: 0, refusedCuts: 0, acceptedCuts: [], refusedPads: 0, acceptedPads: [], ratio: null }
for (const pages of [1, 2, 7, 8, 9, 63, 64, 65, 300]) {
  for (const zeroShare of [0, 0.4, 0.9, 1]) {
    const { out, offset } = pyodideSnapshot(pages, zeroShare)
    const sparse = sparseSnapshot(out)
    const header = snapshotHeader(sparse)
    const heap = new Int8Array(header.heapBytes + 4096).map(() => 1 + Math.floor(random() * 100))
    const config = restoreSparse({ HEAP8: heap }, sparse)
    const want = new Int8Array(out.buffer, offset)
    const same = want.every((b, i) => heap[i] === b) && config.immortalKeys[0] === 'x'
    results.roundTrips++
    if (!same || header.heapBytes !== pages * 4096) results.mismatches.push([pages, zeroShare])
    if (pages === 300 && zeroShare === 0.4) results.ratio = sparse.length / out.length
    // every length up to just past the first stored page's start, and some beyond
    const headerEnd = Math.ceil((offset + 8 + Math.ceil(pages / 8)) / 16) * 16
    const cuts = [sparse.length - 1, Math.floor(sparse.length / 2)]
    for (let n = 0; n < Math.min(headerEnd + 16, sparse.length); n++) cuts.push(n)
    for (const cut of cuts) {
      results.cuts++
      try {
        snapshotHeader(sparse.subarray(0, cut))
        results.acceptedCuts.push([pages, zeroShare, cut])
      } catch (error) {
        if (error.reason === 'corrupt') results.refusedCuts++
        else results.acceptedCuts.push([pages, zeroShare, cut, String(error)])
      }
    }
    for (const pad of [1, 16, 4096]) {
      const padded = new Uint8Array(sparse.length + pad)
      padded.set(sparse)
      try {
        snapshotHeader(padded)
        results.acceptedPads.push([pages, zeroShare, pad])
      } catch (error) {
        if (error.reason === 'corrupt') results.refusedPads++
        else results.acceptedPads.push([pages, zeroShare, pad, String(error)])
      }
    }
  }
}
console.log(JSON.stringify(results))
