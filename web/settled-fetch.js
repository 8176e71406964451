// The JS half of pyclient's HTTP port (FetchTransport in pyclient/adapters/pyodide.py): a fetch
// whose promise always resolves, to the answer or to a description of why there is none. Python
// awaits it and never sees a rejected fetch: when a fetch is refused (server down, offline),
// the value WebKit rejects with cannot be handed to Python as an exception, so the refusal
// never arrived and the request waited for its timeout. The timeout is here too (an abort).
// progress-client.js hands it to Python within the module `pyclient_js`.

export async function settledFetch(url, method, headers, body, timeoutMs) {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: body ?? undefined,
      cache: 'no-store',
      signal: abort.signal,
    })
    const data = new Uint8Array(await response.arrayBuffer())
    return { ok: true, status: response.status, headers: Array.from(response.headers), body: data }
  } catch (error) {
    const timedOut = abort.signal.aborted
    return { ok: false, timedOut, reason: `${error?.name ?? 'Error'}: ${error?.message ?? error}` }
  } finally {
    clearTimeout(timer)
  }
}
