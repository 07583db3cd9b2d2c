// The shop's public API (the frontend service, same origin). Every call takes the context of
// the user action it belongs to, so its fetch span is that action's child and its request
// carries the action's traceparent and baggage.

import { context } from '@opentelemetry/api';

import { cartId } from './session.js';

/** A failed request: the HTTP status and the API's `{error: {code, message}}`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function request(ctx, method, path, body) {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  // fetch is called synchronously inside ctx: the instrumentation parents its span there.
  const response = await context.with(ctx, () => fetch(path, init));
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data?.error ?? {};
    throw new ApiError(
      response.status,
      detail.code ?? `http_${response.status}`,
      detail.message ?? `${method} ${path} failed with HTTP ${response.status}`,
    );
  }
  return data;
}

const enc = encodeURIComponent;
const cartPath = `/api/cart/${enc(cartId)}`;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  /** The baseline flow: products, cart summary and ads of a category. */
  browse: (ctx, { category, limit = 24, currency }) =>
    request(ctx, 'POST', '/api/browse', { cart_id: cartId, category: category || undefined, limit, currency }),
  products: (ctx, { q, category, limit = 24 }) =>
    request(ctx, 'GET', `/api/products${query({ q, category, limit })}`),
  product: (ctx, id) => request(ctx, 'GET', `/api/products/${enc(id)}`),
  recommendations: (ctx, id) => request(ctx, 'GET', `/api/products/${enc(id)}/recommendations`),
  ads: (ctx, category) => request(ctx, 'GET', `/api/ads${query({ category })}`),
  currencies: (ctx) => request(ctx, 'GET', '/api/currencies'),
  cart: (ctx) => request(ctx, 'GET', cartPath),
  addToCart: (ctx, productId, quantity) =>
    request(ctx, 'POST', `${cartPath}/items`, { product_id: Number(productId), quantity }),
  setQuantity: (ctx, productId, quantity) =>
    request(ctx, 'PUT', `${cartPath}/items/${enc(productId)}`, { quantity }),
  removeItem: (ctx, productId) => request(ctx, 'DELETE', `${cartPath}/items/${enc(productId)}`),
  checkout: (ctx, body) => request(ctx, 'POST', '/api/checkout', { cart_id: cartId, ...body }),
  order: (ctx, id) => request(ctx, 'GET', `/api/orders/${enc(id)}`),
};

/** The storefront's settings; not shop traffic, so not traced. */
export async function fetchConfig() {
  const response = await fetch('/api/storefront/config', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new ApiError(response.status, `http_${response.status}`, 'no storefront config');
  return response.json();
}
