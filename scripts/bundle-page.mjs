#!/usr/bin/env node
// The learning page's modules as one file, bundled by esbuild (a build-time devDependency of
// web/) for buildsteps/bundle.py:
//   node scripts/bundle-page.mjs APP_DIR ENTRY OUT_JS
//
// APP_DIR holds the app's modules as the dist lays them out (app-<hash>/); ENTRY is the page's
// entry module relative to it (page/app.js); the bundle is served from APP_DIR's own level
// (app-<hash>/learning-page.js). Printed: the modules it holds, relative to APP_DIR, as JSON.
//
// A module's `import.meta.url` is its own URL, and modules resolve files next to them with it
// (page/content.js finds the course in ../content/). In a bundle it would be the bundle's URL:
// each module below APP_DIR's level has it replaced by its own URL, made from the bundle's, so
// that every module finds what it found unbundled.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(new URL('../web/package.json', import.meta.url))
const esbuild = require('esbuild')

const [appDir, entry, out] = process.argv.slice(2)
if (!out) {
  console.error('usage: node scripts/bundle-page.mjs APP_DIR ENTRY OUT_JS')
  process.exit(2)
}
// as esbuild names the modules it loads: their real paths
const root = fs.realpathSync(path.resolve(appDir))

const ownModuleURLs = {
  name: 'own-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8')
      const rel = path.relative(root, args.path).split(path.sep).join('/')
      if (rel.startsWith('../') || path.isAbsolute(rel)) throw new Error(`${args.path} is not a module of ${root}`)
      if (!rel.includes('/')) return { contents: text, loader: 'js' }
      // only import.meta.url has its module's own value here
      if (/\bimport\.meta\b(?!\.url\b)/.test(text)) throw new Error(`${rel} uses import.meta otherwise than as import.meta.url`)
      const own = `new URL(${JSON.stringify(`./${rel}`)}, import.meta.url).href`
      return { contents: text.replace(/\bimport\.meta\.url\b/g, own), loader: 'js' }
    })
  },
}

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile: path.resolve(out),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  charset: 'utf8',
  legalComments: 'inline',
  metafile: true,
  logLevel: 'warning',
  plugins: [ownModuleURLs],
})
if (result.errors.length) process.exit(1)
console.log(JSON.stringify(Object.keys(result.metafile.inputs).sort()))
