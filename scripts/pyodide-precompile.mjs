#!/usr/bin/env node
// Adds CPython 3.14 bytecode (unchecked-hash .pyc) to wheels and to the standard library zip,
// compiled by the very Pyodide runtime that ships (so the magic number matches), keeping the
// .py sources for tracebacks. Wheels get __pycache__/*.cpython-314.pyc (and a new RECORD); a
// plain .zip (python_stdlib.zip, read by zipimport) gets each .pyc beside its .py. Without
// this, Pyodide compiles every imported module's source on every page load.
//
// Wheels are written stored (no deflate): the server sends them brotli-compressed, and brotli
// compresses stored files far better than deflate's output, which it cannot shrink. Measured on
// pydantic 2.14.4 and pydantic_core 2.50.5 with their bytecode: deflated 1.43 and 1.50 MB (1.40
// and 1.49 MB after brotli -q 11), stored 4.32 and 5.26 MB (0.87 and 0.99 MB after brotli -q 11):
// 1.0 MB less on the wire. Pyodide writes a fetched wheel to a temporary file, unpacks it and
// drops it, so nothing larger stays: booting the runtime and importing pyclient.bridge under node
// (medians of 14 runs), the memory held after garbage collection (23.0 MB of array buffers,
// 37.7 MB wasm heap) is the same, the resident peak 5.6 MB higher (210 -> 216 MB), the time the
// same within the noise (885 vs 864 ms). (A client that takes no brotli gets 9.6 MB instead of
// 2.9 MB: the server should also have gzip, 2.8 MB.) The standard library zip stays deflated: it
// is kept in memory for the page's life (buildsteps/stdlib.py trims and writes it). Called by
// build.py:
//
//   node scripts/pyodide-precompile.mjs RUNTIME_DIR OUT_DIR FILE...
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [runtimeDir, outDir, ...wheels] = process.argv.slice(2)
if (!runtimeDir || !outDir || !wheels.length) {
  console.error('usage: pyodide-precompile.mjs RUNTIME_DIR OUT_DIR WHEEL...')
  process.exit(2)
}
globalThis.fetch = async (url) => {
  throw new Error(`pyodide-precompile: no network access (${url})`)
}
const rt = path.resolve(runtimeDir) + path.sep
const { loadPyodide } = await import(pathToFileURL(path.join(rt, 'pyodide.mjs')).href)
process.on('uncaughtException', (e) => {
  console.error(`pyodide-precompile: ${e && e.message ? e.message : e}`)
  process.exit(1)
})
const pyodide = await loadPyodide({ indexURL: rt, packageBaseUrl: rt })
fs.mkdirSync(outDir, { recursive: true })
pyodide.FS.mkdirTree('/in')
pyodide.FS.mkdirTree('/out')
for (const w of wheels) pyodide.FS.writeFile(`/in/${path.basename(w)}`, fs.readFileSync(w))
const names = pyodide.runPython(`
import base64, hashlib, importlib.util, os, posixpath, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

TAG = sys.implementation.cache_tag

def precompile(src, dst):
    with zipfile.ZipFile(src) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    wheel = src.endswith(".whl")
    record = next((n for n, _ in entries if n.endswith(".dist-info/RECORD")), None)
    names = {n for n, _ in entries}
    out = []
    for name, data in entries:
        if name == record or "/__pycache__/" in f"/{name}":
            continue
        out.append((name, data))
        if name.endswith(".py") and (wheel or name + "c" not in names):
            try:
                code = compile(data, name, "exec", dont_inherit=True)
            except SyntaxError:
                continue
            head, base = posixpath.split(name)
            pyc = posixpath.join(head, "__pycache__", f"{base[:-3]}.{TAG}.pyc") if wheel else name + "c"
            out.append((pyc, bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), False))))
    if record is not None:
        lines = []
        for name, data in out:
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            lines.append(f"{name},sha256={digest},{len(data)}")
        lines.append(f"{record},,")
        out.append((record, ("\\n".join(lines) + "\\n").encode()))
    method = zipfile.ZIP_STORED if wheel else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(dst, "w", compression=method) as zout:
        for name, data in out:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = (0o40755 if name.endswith("/") else 0o644) << 16
            zout.writestr(info, data)

done = []
for name in sorted(os.listdir("/in")):
    precompile(f"/in/{name}", f"/out/{name}")
    done.append(name)
",".join(done)
`)
for (const name of names.split(',')) fs.writeFileSync(path.join(outDir, name), pyodide.FS.readFile(`/out/${name}`))
console.log(`precompiled ${names.split(',').length} files with Pyodide ${pyodide.version}`)
