// The page a failed checkout leads to, and what a page that failed to load shows.

import { esc, show } from '../dom.js';
import { lastOutcome } from '../outcome.js';
import { notice } from './components.js';

const TITLES = {
  402: 'Your card was declined',
  409: 'Part of your order is no longer available',
  400: 'Your order could not be placed',
};

export function checkoutError() {
  const outcome = lastOutcome();
  if (!outcome || outcome.ok) {
    show(`<h1 tabindex="-1">Nothing went wrong</h1><p>There is no failed order to show.</p><p><a href="#/">Back to the shop</a></p>`);
    return Promise.resolve();
  }
  const title = TITLES[outcome.status] ?? 'We could not place your order';
  show(`<section class="error-page" data-testid="error-page" data-trace-id="${esc(outcome.traceId)}" role="alert">
      <h1 tabindex="-1">${esc(title)}</h1>
      <p class="error-message" data-testid="error-message">${esc(outcome.message)}</p>
      <p class="support">If you contact support, give them this reference:
        <code class="trace-id" data-testid="trace-id">${esc(outcome.traceId)}</code></p>
      <p class="actions"><a class="button" href="#/checkout">Try again</a> <a class="button button-secondary" href="#/cart">Back to the cart</a></p>
    </section>`);
  return Promise.resolve();
}

export function notFound() {
  show(`<h1 tabindex="-1">Page not found</h1><p><a href="#/">Back to the shop</a></p>`);
  return Promise.resolve();
}

/** A view whose data could not be loaded. */
export function failed(error) {
  const gone = error?.status === 404;
  show(`<h1 tabindex="-1">${gone ? 'Not found' : 'This page could not be loaded'}</h1>
    ${notice(gone ? 'It may have been removed.' : `${error?.message ?? 'Unknown error'}. Please try again in a moment.`, 'error')}
    <p><a href="#/">Back to the shop</a></p>`);
}
