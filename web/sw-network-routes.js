// Imported by the service worker (scripts/generate-sw.mjs): requests to the API never reach it.
// Where the browser has the static routing API, they go straight to the network, with no fetch
// event and no added latency (about 15 ms a request otherwise); elsewhere the worker's routes
// let them pass untouched. Nothing under the API is ever cached.
self.addEventListener('install', (event) => {
  if (typeof event.addRoutes !== 'function' || typeof URLPattern === 'undefined') return
  const scope = new URL(self.registration.scope).pathname
  const api = new URLPattern({ pathname: `${scope}api/*` })
  event.waitUntil(event.addRoutes({ condition: { urlPattern: api }, source: 'network' }).catch(() => null))
})
