// The course content of a locale (web/content/, see learning_content/__init__.py for the shape),
// fetched from this origin only, and the done counts of its modules and paths.
import { isItemDone } from './outcome.js'

const BASE = new URL('../content/', import.meta.url)
const cache = new Map()

async function getJson(url) {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url.pathname} answered ${response.status}`)
  return response.json()
}

/** {defaultLocale, locales: [{code, name}]} */
export function loadLocales() {
  if (!cache.has('locales')) {
    const p = getJson(new URL('locales.json', BASE))
    p.catch(() => cache.delete('locales'))
    cache.set('locales', p)
  }
  return cache.get('locales')
}

/** The content of one locale: {locale, paths, pathById, items (Map contentId -> item)}. */
export function loadContent(locale) {
  if (!cache.has(locale)) {
    const p = Promise.all([
      getJson(new URL(`${locale}/items.json`, BASE)),
      getJson(new URL(`${locale}/paths.json`, BASE)),
    ]).then(([itemsFile, pathsFile]) => {
      const items = new Map(itemsFile.items.map((item) => [item.contentId, item]))
      const paths = pathsFile.paths
      const pathById = new Map(paths.map((path) => [path.pathId, path]))
      return { locale, items, paths, pathById }
    })
    p.catch(() => cache.delete(locale))
    cache.set(locale, p)
  }
  return cache.get(locale)
}

/**
 * The done items of a module (a lesson completed, a quiz passed: outcome.js); a reused item
 * counts in every module it is in. `items` is the locale's Map contentId -> item.
 */
export function moduleProgress(snapshot, module, items) {
  const total = module.items.length
  const done = module.items.filter((id) => isItemDone(snapshot, id, items.get(id))).length
  return { done, total }
}

/** The sum over the path's modules (so a reused item counts once per module it appears in). */
export function pathProgress(snapshot, path, items) {
  let done = 0
  let total = 0
  for (const module of path.modules) {
    const p = moduleProgress(snapshot, module, items)
    done += p.done
    total += p.total
  }
  return { done, total }
}
