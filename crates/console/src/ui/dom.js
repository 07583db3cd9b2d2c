// Small DOM helpers: queries, SVG elements, writes that skip what has not changed, toasts.

const SVGNS = 'http://www.w3.org/2000/svg';

export const $ = (s, r = document) => r.querySelector(s);
export const $$ = (s, r = document) => [...r.querySelectorAll(s)];

export function svg(tag, attrs = {}, parent) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}
export function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) if (el.getAttribute(k) !== String(v)) el.setAttribute(k, v);
}
export function setText(el, t) { if (el.textContent !== t) el.textContent = t; }
// replaces the element's content only when it differs (no flicker, no lost hover)
export function setHtml(el, html) { if (el.innerHTML !== html) el.innerHTML = html; }

export function toast(msg, kind = '') {
  const el = document.createElement('div');
  el.className = 'toast ' + kind;
  el.textContent = msg;
  $('#toasts').appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 7000 : 3500);
}
