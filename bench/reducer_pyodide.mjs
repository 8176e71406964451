#!/usr/bin/env node
// Runs bench/reducer_workload.py inside Pyodide (node runtime) with the runtime, lockfile and
// wheels that build.py shipped in dist/web, and prints its results as one JSON line.
//   node bench/reducer_pyodide.mjs SIZE [SIZE ...]
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const web = path.join(root, 'dist', 'web')
if (!fs.existsSync(path.join(web, 'build.json'))) {
  console.error('reducer_pyodide: dist/web/build.json is missing: run build.py first.')
  process.exit(2)
}
// where this build put the runtime, the wheels and their lockfile (build.json says)
const build = JSON.parse(fs.readFileSync(path.join(web, 'build.json'), 'utf8'))
const runtimeDir = path.join(web, build.runtime) + path.sep
const lock = path.join(web, build.lockfile)
const lockDir = path.join(web, build.packages) + path.sep
const { loadPyodide } = await import(pathToFileURL(path.join(runtimeDir, 'pyodide.mjs')).href)
const pyodide = await loadPyodide({ indexURL: runtimeDir, lockFileURL: lock, packageBaseUrl: lockDir })
const errors = []
await pyodide.loadPackage(['pydantic', 'pyclient'], { messageCallback: () => {}, errorCallback: (m) => errors.push(m) })
if (errors.length) {
  console.error('reducer_pyodide: could not load packages:\n' + errors.join('\n'))
  process.exit(2)
}
pyodide.FS.writeFile('/home/pyodide/reducer_workload.py', fs.readFileSync(path.join(root, 'bench', 'reducer_workload.py')))
const sizes = process.argv.slice(2).map(Number)
const out = await pyodide.runPythonAsync(`
import json, sys
sys.path.insert(0, "/home/pyodide")
from reducer_workload import measure
json.dumps({"python": sys.version.split()[0], **measure(${JSON.stringify(sizes)})})
`)
console.log(out)
