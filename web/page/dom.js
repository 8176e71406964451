// The page's one DOM helper: $ finds an element of index.html by id, h makes an element.

export const $ = (id) => document.getElementById(id)

/** h('tag', {attr: value, onclick: fn, dataset: {...}}, ...children) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'dataset') Object.assign(el.dataset, value)
    else if (name.startsWith('on')) el.addEventListener(name.slice(2), value)
    else if (name === 'text') el.textContent = value
    else if (name === 'className') el.className = value
    else if (value === true) el.setAttribute(name, '')
    else el.setAttribute(name, String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}
