// readBuildFile (web/snapshot-files.js) against a real local HTTP server whose answers stall or
// trickle: a file of which nothing arrives for the stall limit is refused as 'timeout' (before
// its answer, or halfway through its body) and its connection is closed, one that keeps
// arriving slowly is read whole, one whose answer waits while another file arrives (a request
// queued for a connection) is not given up, and a stall limit that is not finite never gives
// up. A download expected within a time (expectDownload) is given up as soon as the rate it has
// come at says it will not be (judged once it has come for half a second) and, with a deadline,
// when it has not ended in time; not when it ends in time. Prints one JSON object of results.
import http from 'node:http'
import { pathToFileURL } from 'node:url'

const [moduleFile] = process.argv.slice(2)
const { expectDownload, readBuildFile } = await import(pathToFileURL(moduleFile).href)

const BODY = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const held = new Set() // answers left hanging, ended when the run is over
const hungUp = new Set() // paths whose connection the client closed before the answer ended
const LATE_MS = { '/late': 400, '/queued': 500 } // answered whole, this late

const server = http.createServer(async (req, res) => {
  held.add(res)
  res.on('close', () => res.writableFinished || hungUp.add(req.url))
  const chunk = (i, n) => BODY.subarray((i * BODY.length) / n, ((i + 1) * BODY.length) / n)
  if (req.url === '/silent') return // no answer at all
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length })
  if (req.url === '/halfway') return res.write(chunk(0, 2)) // half, then nothing
  const trickled = req.url.startsWith('/trickle') ? 16 : /^\/(slow|pause)/.test(req.url) ? 32 : 0
  if (req.url.startsWith('/pause')) {
    res.flushHeaders() // its answer, then nothing for a while
    await sleep(700)
  }
  if (trickled) {
    for (let i = 0; i < trickled; i++) {
      res.write(chunk(i, trickled))
      await sleep(40) // 640 or 1280 ms in all, never 200 ms without a byte
    }
    return res.end()
  }
  await sleep(LATE_MS[req.url] ?? 0)
  res.end(BODY)
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}`

async function read(path, stallMs) {
  const started = performance.now()
  try {
    const { bytes, precached } = await readBuildFile(`${base}${path}`, null, stallMs)
    const whole = bytes.length === BODY.length && bytes.every((b, i) => b === BODY[i])
    return { whole, precached, ms: Math.round(performance.now() - started) }
  } catch (error) {
    return { refused: error.reason ?? error.name, message: error.message, ms: Math.round(performance.now() - started) }
  }
}

// read(path), expected `afterMs` after it starts to end within `withinMs` (with a `deadline`),
// as asked `askedAgoMs` before that (of an earlier read of it), if given
async function expected(path, afterMs, withinMs, deadline, askedAgoMs = null) {
  const expect = () => {
    const askedAt = performance.timeOrigin + performance.now() - (askedAgoMs ?? 0)
    expectDownload(`${base}${path}`, BODY.length, withinMs, deadline, askedAt)
  }
  const timer = setTimeout(expect, afterMs)
  const outcome = await read(path, Infinity)
  clearTimeout(timer)
  return outcome
}

const result = {
  silent: await read('/silent', 200),
  halfway: await read('/halfway', 200),
  trickle: await read('/trickle', 200),
  whole: await read('/whole', 200),
  lateNoLimit: await read('/late', Infinity),
  queuedAlone: await read('/queued', 200),
  // after 600 ms (its rate measured), about half has come: the rest would take some 650 ms
  hurriedTooSlow: await expected('/slow-too-slow', 600, 300, true),
  hurriedSoonEnough: await expected('/trickle-soon-enough', 200, 5000, true),
  // answered 500 ms after it starts: nothing to judge by when hurried, the time limit decides
  hurriedLate: await expected('/queued', 100, 100, true),
  hurriedInTime: await expected('/queued', 100, 1000, true),
  // the same, as asked 900 ms before (of a read that ended): its time is up 100 ms later
  hurriedEarlier: await expected('/queued', 100, 1000, true, 900),
  // expected of the line from its start: judged 500 ms after its answer, when it has come at a
  // rate that needs some 1280 ms in all
  lineTooSlow: await expected('/slow-line', 0, 600, false),
  lineFastEnough: await expected('/slow-enough', 0, 5000, false),
  // no deadline: answered at 500 ms, whole at once, done before it is judged
  lineNoDeadline: await expected('/queued', 0, 100, false),
  // nothing of it when first judged (500 ms after its answer), judged again: at its rate then,
  // far more than the 1500 ms allowed
  linePauseThenSlow: await expected('/pause-then-slow', 0, 1500, false),
}
// answered only after 500 ms, while another file trickles in: waiting is not a stall
const [queued, beside] = await Promise.all([read('/queued', 200), read('/trickle', 200)])
Object.assign(result, { queued, beside })
await sleep(50) // the closes reach the server
result.hungUp = [...hungUp].sort()
for (const res of held) res.destroy()
server.close()
console.log(JSON.stringify(result))
