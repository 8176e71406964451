#!/usr/bin/env node
// Compiles the Python of wheels and of the standard library zip to CPython 3.14 bytecode
// (unchecked-hash .pyc), with the very Pyodide runtime that ships (so the magic number matches).
// Without it, Pyodide compiles every imported module's source on every page load.
//
// By default a file ships its bytecode without sources, the way Pyodide's own distribution
// ships its packages: each `module.py` is replaced by `module.pyc` in the same place (the legacy
// layout of `compileall -b`). Only there is a .pyc imported without its source: a .pyc in
// __pycache__/ is used only when the .py beside it exists. The standard library zip then
// imports through zipimport, a wheel's modules through site-packages' SourcelessFileLoader.
// A file named with --keep-sources (pyclient's wheel: tracebacks show its source lines) keeps
// its .py and gets __pycache__/*.cpython-314.pyc beside it. A module that does not compile is
// left as source. A wheel's RECORD is written again, listing exactly what it holds (Pyodide's
// loadPackage unpacks a wheel without reading RECORD, but an installer may refuse a wheel whose
// RECORD names files it does not hold).
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
// 2.9 MB: the server should also have gzip, 2.8 MB.) How the standard library zip is stored is
// decided by buildsteps/stored_zips.py. Called by build.py (buildsteps/bytecode.py):
//
//   node scripts/pyodide-precompile.mjs RUNTIME_DIR OUT_DIR [--keep-sources FILE]... FILE...
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [runtimeDir, outDir, ...rest] = process.argv.slice(2)
const wheels = []
const keepSources = []
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--keep-sources') keepSources.push(path.basename(rest[++i]))
  wheels.push(rest[i])
}
if (!runtimeDir || !outDir || !wheels.length || wheels.includes(undefined)) {
  console.error('usage: pyodide-precompile.mjs RUNTIME_DIR OUT_DIR [--keep-sources FILE]... FILE...')
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
pyodide.globals.set('KEEP_SOURCES', pyodide.toPy(keepSources))
const names = pyodide.runPython(`
import base64, hashlib, importlib.util, os, posixpath, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

TAG = sys.implementation.cache_tag

def precompile(src, dst, sources):
    with zipfile.ZipFile(src) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    wheel = src.endswith(".whl")
    record = next((n for n, _ in entries if n.endswith(".dist-info/RECORD")), None)
    out = []
    for name, data in entries:
        if name == record or "/__pycache__/" in f"/{name}" or name.endswith(".pyc"):
            continue  # bytecode already there is compiled again
        if not name.endswith(".py"):
            out.append((name, data))
            continue
        try:
            code = compile(data, name, "exec", dont_inherit=True)
        except SyntaxError:
            out.append((name, data))
            continue
        pyc = bytes(_code_to_hash_pyc(code, importlib.util.source_hash(data), False))
        if not sources:
            out.append((name + "c", pyc))
            continue
        out.append((name, data))
        head, base = posixpath.split(name)
        cached = posixpath.join(head, "__pycache__", f"{base[:-3]}.{TAG}.pyc")
        out.append((cached if wheel else name + "c", pyc))
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
    precompile(f"/in/{name}", f"/out/{name}", name in KEEP_SOURCES)
    done.append(name)
",".join(done)
`)
for (const name of names.split(',')) fs.writeFileSync(path.join(outDir, name), pyodide.FS.readFile(`/out/${name}`))
console.log(`precompiled ${names.split(',').length} files with Pyodide ${pyodide.version}`)
