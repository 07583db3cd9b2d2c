// Small DOM helpers shared by the views, and one delegated listener per event type on the
// page's body (the user-interaction instrumentation makes each handled event a span).

/** Escapes text for HTML. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

export function app() {
  return document.getElementById('app');
}

/** Replaces the page's content and moves focus to its heading (for keyboard and screen readers). */
export function show(html, { focus = true } = {}) {
  const root = app();
  root.innerHTML = html;
  root.setAttribute('aria-busy', 'false');
  if (focus) root.querySelector('h1')?.focus({ preventScroll: false });
}

export function showLoading(label = 'Loading…') {
  const root = app();
  root.setAttribute('aria-busy', 'true');
  root.innerHTML = `<div class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${esc(label)}</div>`;
}

const handlers = { click: [], submit: [], change: [] };

/** Handles `type` events on elements matching `selector`: `handler(event, element)`. */
export function on(type, selector, handler) {
  handlers[type].push({ selector, handler });
}

export function listen() {
  // A product picture that cannot be loaded leaves its CSS stand-in visible.
  document.body.addEventListener('error', (event) => {
    if (event.target instanceof HTMLImageElement) event.target.classList.add('failed');
  }, true);
  for (const type of Object.keys(handlers)) {
    document.body.addEventListener(type, (event) => {
      for (const { selector, handler } of handlers[type]) {
        const element = event.target.closest?.(selector);
        if (element) handler(event, element);
      }
    });
  }
}

let toastTimer;
/** A short message in the corner, read out by screen readers. */
export function toast(message, kind = 'info') {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = `toast toast-${kind} visible`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('visible'), 3500);
}
