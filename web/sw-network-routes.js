// Imported by the service worker (scripts/generate-sw.mjs). Where the browser has the static
// routing API, two kinds of request never start the worker's JavaScript (about 15 ms a request
// otherwise, and a page load makes some 60 of them):
// - the API's go straight to the network (nothing under the API is ever cached);
// - the build's content-hashed files (the page's modules, the runtime, the wheels and the memory
//   snapshot: buildsteps/page.py names their directories so) are answered from the precache by
//   the browser itself. Their content never changes under a name, so the cache's copy is the
//   answer the worker's precache route would give; a file it does not hold (another build's)
//   is fetched from the network.
// Elsewhere the worker's own routes do the same: the API passes untouched, the precache answers.
const HASHED = ['app-*/*', 'pyodide-*/*', 'snapshot-*/*', 'packages/*']

self.addEventListener('install', (event) => {
  if (typeof event.addRoutes !== 'function' || typeof URLPattern === 'undefined') return
  // the scope's path as it is, whatever it holds (URLPattern's own syntax characters escaped)
  const scope = new URL(self.registration.scope).pathname.replace(/[\\:*+?(){}]/g, '\\$&')
  const path = (pattern) => new URLPattern({ pathname: `${scope}${pattern}` })
  // Workbox's precache (cacheId in generate-sw.mjs; PRECACHE_ID in snapshot-files.js)
  const cacheName = `learning-progress-precache-v2-${self.registration.scope}`
  const cached = HASHED.map((pattern) => ({ condition: { urlPattern: path(pattern), requestMethod: 'GET' }, source: { cacheName } }))
  // one call each: an engine that refuses the cache's rules still sends the API to the network
  event.waitUntil(
    Promise.all([
      event.addRoutes({ condition: { urlPattern: path('api/*') }, source: 'network' }).catch(() => null),
      event.addRoutes(cached).catch(() => null),
    ]),
  )
})
