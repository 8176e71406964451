// Firefox ESR over WebDriver BiDi (puppeteer-core), driven line by line by the cross-engine
// tests (e2e/engines/firefox.py): one JSON command a line on stdin, one JSON reply a line on
// stdout ({id, ok, value} or {id, ok: false, error}). The first line out says the browser is up.
// The scenarios themselves are Python (e2e/engines/scenario.py); this only runs their steps.
import readline from 'node:readline'
import puppeteer from 'puppeteer-core'

const executablePath = process.env.FIREFOX || '/usr/bin/firefox-esr'
const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath,
  headless: true,
  extraPrefsFirefox: {
    // nothing but the page's own server: no update, telemetry or captive-portal checks
    'app.update.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.enabled': false,
  },
})
const version = await browser.version()
const pages = new Map()
const errors = []
let nextTab = 1

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n')
}

function watch(tab, page) {
  page.on('pageerror', (error) => errors.push(`tab ${tab}: uncaught: ${error?.stack || error}`))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`tab ${tab}: console.error: ${message.text()}`)
  })
}

function page(tab) {
  const found = pages.get(tab)
  if (!found) throw new Error(`no tab ${tab}`)
  return found
}

const ops = {
  async open({ url, initScript }) {
    const tab = nextTab++
    const pg = await browser.newPage()
    pages.set(tab, pg)
    watch(tab, pg)
    await pg.evaluateOnNewDocument(initScript)
    await pg.goto(url)
    return tab
  },
  async eval({ tab, expression }) {
    return await page(tab).evaluate(expression)
  },
  async click({ tab, selector }) {
    // a locator finds the control again when the page draws it anew between finding and
    // clicking it (as a learner's click lands on what is there); no wait for a stable box: it
    // waits on animation frames, nor for the viewport observer: a background tab may not get
    // them (the click scrolls the control into view itself)
    await page(tab).locator(selector).setWaitForStableBoundingBox(false).setEnsureElementIsInTheViewport(false).click()
    return null
  },
  async reload({ tab }) {
    await page(tab).reload()
    return null
  },
  async close({ tab }) {
    await page(tab).close()
    pages.delete(tab)
    return null
  },
  async offline({ offline }) {
    for (const pg of pages.values()) await pg.setOfflineMode(offline)
    return null
  },
  async errors() {
    return errors.splice(0)
  },
  async quit() {
    await browser.close()
    return null
  },
}

reply({ ready: true, version, pid: browser.process()?.pid ?? null })
const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  if (!line.trim()) continue
  const { id, op, ...args } = JSON.parse(line)
  try {
    if (!(op in ops)) throw new Error(`unknown op ${op}`)
    reply({ id, ok: true, value: await ops[op](args) })
  } catch (error) {
    reply({ id, ok: false, error: String(error?.stack || error) })
  }
  if (op === 'quit') break
}
await browser.close().catch(() => {})
process.exit(0)
