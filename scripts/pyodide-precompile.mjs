#!/usr/bin/env node
// Adds CPython 3.14 bytecode (unchecked-hash .pyc) to wheels and to the standard library zip,
// compiled by the very Pyodide runtime that ships (so the magic number matches), keeping the
// .py sources for tracebacks. Wheels get __pycache__/*.cpython-314.pyc (and a new RECORD); a
// plain .zip (python_stdlib.zip, read by zipimport) gets each .pyc beside its .py. Without
// this, Pyodide compiles every imported module's source on every page load. Called by build.py:
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
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in out:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
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
