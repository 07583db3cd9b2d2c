// Hash routing: the server serves one page; `#/…` picks the view. Each page view is a span
// (`view /product/:id`, …), the child of the click or search that led to it when there was one.

import { context } from '@opentelemetry/api';

import { on } from './dom.js';
import { runAction } from './telemetry.js';

const ROUTES = [
  { template: '/', pattern: /^\/$/, view: 'home' },
  { template: '/product/:id', pattern: /^\/product\/(\d+)$/, view: 'product' },
  { template: '/cart', pattern: /^\/cart$/, view: 'cart' },
  { template: '/checkout', pattern: /^\/checkout$/, view: 'checkout' },
  { template: '/order/:id', pattern: /^\/order\/([A-Za-z0-9_-]+)$/, view: 'order' },
  { template: '/error', pattern: /^\/error$/, view: 'error' },
];

const NOT_FOUND = { template: '/not-found', view: 'notFound' };

/** The route of a location hash: its view, template, path parameter and query. */
export function parse(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (m) return { ...route, id: m[1], query };
  }
  return { ...NOT_FOUND, query };
}

export function currentTemplate() {
  return parse().template;
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// The interaction that changed the hash (a link click, a search): the page view is its child.
let pending = null;
const PENDING_MS = 1000;

/** Remembers the active context (an interaction span) as the parent of the next page view. */
export function rememberInteraction() {
  pending = { ctx: context.active(), at: performance.now() };
}

function takeInteraction() {
  const p = pending;
  pending = null;
  return p && performance.now() - p.at < PENDING_MS ? p.ctx : undefined;
}

let views = {};
let renderCount = 0;

async function render() {
  const route = parse();
  const mine = ++renderCount;
  const isCurrent = () => mine === renderCount;
  for (const link of document.querySelectorAll('[data-nav-category]')) {
    const active = route.view === 'home' && (route.query.category ?? '') === link.dataset.navCategory;
    link.toggleAttribute('aria-current', active);
  }
  try {
    await runAction(`view ${route.template}`, { parent: takeInteraction() }, (ctx) =>
      views[route.view](ctx, route, isCurrent),
    );
  } catch (error) {
    // The view showed what it could; the failure is on its span.
    if (isCurrent()) views.failed?.(error, route);
  }
}

/** Starts routing with `views`: name → `(ctx, route, isCurrent) => Promise`. */
export function startRouter(viewMap) {
  views = viewMap;
  on('click', 'a[href^="#"]', rememberInteraction);
  addEventListener('hashchange', render);
  render();
}

export { render as rerender };
