// A stand-in for the frontend service, for developing and testing the storefront without the
// Rust build: serves the page, its bundle and a fake shop API with a few products, and records
// what reaches /otlp/v1/traces and the headers of every API request.
//
//   node dev/mock.mjs [port]        (default 8018; then open http://127.0.0.1:8018/)
//
// Test hooks: GET /__mock/spans (recorded OTLP bodies), GET /__mock/requests (API requests
// with their headers), POST /__mock/config (merged into the storefront config). MOCK_LOG=1
// logs every request.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const PRODUCTS = [
  [1, 'ELEC-0001', 'Wireless Noise-Cancelling Headphones', 'electronics', 17999],
  [2, 'ELEC-0002', '7-Port USB-C Charging Hub', 'electronics', 3999],
  [3, 'ELEC-0003', '27-Inch 4K IPS Monitor', 'electronics', 38999],
  [10, 'HOME-0001', 'Stainless Steel French Press', 'home-kitchen', 2999],
  [11, 'HOME-0002', 'Cast Iron Skillet 12-Inch', 'home-kitchen', 4499],
  [19, 'BOOK-0001', 'The Pragmatic Programmer', 'books', 4299],
  [28, 'CLTH-0001', 'Merino Wool Hoodie', 'clothing', 8999],
  [37, 'SPRT-0001', 'Two-Person Backpacking Tent', 'sports-outdoors', 19999],
].map(([id, sku, name, category, price_cents]) => ({
  id, sku, name, category, price_cents, currency: 'USD', stock: 50, weight_grams: 500,
  description: `${name}: a product of the mock shop.`,
}));

const ADS = [
  { id: 'ad-1', category: 'electronics', headline: 'Hear only the music', text: 'Noise-cancelling headphones, 30 hours of battery.', target: '/api/products/1' },
  { id: 'ad-2', category: 'home-kitchen', headline: 'Breakfast, upgraded', text: 'Coffee gear for slow mornings.', target: '/api/products?category=home-kitchen' },
];

const RATES = {
  base: 'USD',
  rates: [
    { currency: 'USD', per_usd: 1, minor_digits: 2 },
    { currency: 'EUR', per_usd: 0.92, minor_digits: 2 },
    { currency: 'GBP', per_usd: 0.79, minor_digits: 2 },
    { currency: 'JPY', per_usd: 151, minor_digits: 0 },
    { currency: 'CAD', per_usd: 1.36, minor_digits: 2 },
    { currency: 'AUD', per_usd: 1.52, minor_digits: 2 },
    { currency: 'CHF', per_usd: 0.88, minor_digits: 2 },
  ],
  as_of: '2026-01-01T00:00:00Z',
};

const COLORS = { electronics: '#1864ab', 'home-kitchen': '#e8590c', books: '#5f3dc4', clothing: '#c2255c', 'sports-outdoors': '#2b8a3e' };

function productSvg(p) {
  const c = COLORS[p.category] ?? '#495057';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 180"><rect width="240" height="180" fill="${c}"/>` +
    `<circle cx="120" cy="80" r="44" fill="#fff" opacity="0.85"/><text x="120" y="160" font-family="sans-serif" font-size="16" fill="#fff" text-anchor="middle">${p.sku}</text></svg>`;
}

export async function startMock({ port = 0 } = {}) {
  const carts = new Map();
  const orders = new Map();
  const spans = [];
  const requests = [];
  let config = { service_version: 'mock', scenarios: { checkout_js_error_share: 0 }, rum: null };

  const cartOf = (id) => {
    const items = carts.get(id) ?? new Map();
    carts.set(id, items);
    return items;
  };
  const cartBody = (id) => {
    const items = [...cartOf(id)].map(([product_id, quantity]) => ({ product_id, quantity })).sort((a, b) => a.product_id - b.product_id);
    return { cart_id: id, items, item_count: items.reduce((s, i) => s + i.quantity, 0) };
  };
  const cartView = (id) => {
    const cart = cartBody(id);
    const lines = cart.items.map((i) => {
      const product = PRODUCTS.find((p) => p.id === i.product_id);
      return { product, quantity: i.quantity, line_total_cents: product.price_cents * i.quantity };
    });
    return { ...cart, lines, total_cents: lines.reduce((s, l) => s + l.line_total_cents, 0), currency: 'USD' };
  };
  const error = (status, code, message) => ({ status, body: { error: { code, message } } });
  const product = (id) => PRODUCTS.find((p) => p.id === Number(id));

  function api(method, path, query, body) {
    let m;
    if (method === 'GET' && path === '/api/storefront/config') return { body: config };
    if (method === 'GET' && path === '/api/currencies') return { body: RATES };
    if (method === 'POST' && path === '/api/browse') {
      const list = PRODUCTS.filter((p) => !body?.category || p.category === body.category).slice(0, body?.limit ?? 12);
      return { body: {
        products: list,
        cart: body?.cart_id ? { cart_id: body.cart_id, item_count: cartBody(body.cart_id).item_count } : null,
        ads: ADS.filter((a) => !body?.category || a.category === body.category).slice(0, 2),
        currency: body?.currency ?? 'USD', display_prices: [], degraded: [],
      } };
    }
    if (method === 'GET' && path === '/api/products') {
      const q = (query.get('q') ?? '').toLowerCase();
      const category = query.get('category');
      const list = PRODUCTS.filter((p) => (!q || p.name.toLowerCase().includes(q)) && (!category || p.category === category));
      return { body: { products: list, count: list.length } };
    }
    if (method === 'GET' && (m = /^\/api\/products\/(\d+)$/.exec(path))) {
      return product(m[1]) ? { body: product(m[1]) } : error(404, 'not_found', 'no such product');
    }
    if (method === 'GET' && (m = /^\/api\/products\/(\d+)\/recommendations$/.exec(path))) {
      return { body: { products: PRODUCTS.filter((p) => p.id !== Number(m[1])).slice(0, 4) } };
    }
    if (method === 'GET' && path === '/api/ads') {
      return { body: { ads: ADS.filter((a) => !query.get('category') || a.category === query.get('category')) } };
    }
    if ((m = /^\/api\/cart\/([A-Za-z0-9_-]{1,64})$/.exec(path)) && method === 'GET') return { body: cartView(m[1]) };
    if ((m = /^\/api\/cart\/([A-Za-z0-9_-]{1,64})\/items$/.exec(path)) && method === 'POST') {
      if (!product(body?.product_id)) return error(404, 'not_found', 'no such product');
      const items = cartOf(m[1]);
      items.set(body.product_id, Math.min(99, (items.get(body.product_id) ?? 0) + body.quantity));
      return { status: 201, body: cartBody(m[1]) };
    }
    if ((m = /^\/api\/cart\/([A-Za-z0-9_-]{1,64})\/items\/(\d+)$/.exec(path))) {
      const items = cartOf(m[1]);
      const id = Number(m[2]);
      if (method === 'PUT') {
        if (body?.quantity > 0) items.set(id, body.quantity);
        else items.delete(id);
        return { body: cartBody(m[1]) };
      }
      if (method === 'DELETE') {
        items.delete(id);
        return { body: cartBody(m[1]) };
      }
    }
    if (method === 'POST' && path === '/api/checkout') {
      const cart = cartView(body?.cart_id ?? '');
      if (!cart.lines.length) return error(400, 'cart_empty', 'the cart is empty');
      const digits = String(body.card?.number ?? '').replace(/[ -]/g, '');
      if (digits === '4000000000000002') return error(402, 'card_declined', 'the card was declined');
      const id = `ord-${orders.size + 1}`;
      const order = {
        id, status: 'confirmed', currency: 'USD', total_cents: cart.total_cents + 599, shipping_cents: 599,
        shipping_country: body.country ?? 'US', item_count: cart.item_count, customer_email: body.email ?? null,
        session_id: null, payment_transaction_id: `txn-${id}`, card_last4: digits.slice(-4),
        created_at: '2026-01-01T00:00:00Z',
        items: cart.lines.map((l) => ({ product_id: l.product.id, quantity: l.quantity, unit_price_cents: l.product.price_cents })),
      };
      orders.set(id, order);
      carts.delete(body.cart_id);
      const rate = RATES.rates.find((r) => r.currency === (body.currency ?? 'USD')) ?? RATES.rates[0];
      const conv = (c) => Math.round((c / 100) * rate.per_usd * 10 ** rate.minor_digits);
      return { status: 201, body: {
        order, recommendations: PRODUCTS.slice(0, 2), transaction_id: order.payment_transaction_id,
        display: { currency: rate.currency, items: conv(cart.total_cents), shipping: conv(599), total: conv(order.total_cents) },
        estimated_delivery_days: 3,
      } };
    }
    if (method === 'GET' && (m = /^\/api\/orders\/([A-Za-z0-9_-]+)$/.exec(path))) {
      return orders.has(m[1]) ? { body: orders.get(m[1]) } : error(404, 'not_found', 'no such order');
    }
    return error(404, 'not_found', `no route ${method} ${path}`);
  }

  const STATIC = {
    '/': ['index.html', 'text/html; charset=utf-8'],
    '/assets/style.css': ['style.css', 'text/css; charset=utf-8'],
    '/assets/storefront.js': ['dist/storefront.js', 'text/javascript; charset=utf-8'],
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://mock');
    if (process.env.MOCK_LOG) console.error(`mock: ${Date.now() % 100000} ${req.method} ${url.pathname} ${req.headers['content-length'] ?? ''}`);
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (status, body) => send(status, 'application/json', JSON.stringify(body));
    try {
      if (STATIC[url.pathname]) {
        const [file, type] = STATIC[url.pathname];
        return send(200, type, await readFile(join(root, file)));
      }
      let m;
      if ((m = /^\/images\/products\/(\d+)\.svg$/.exec(url.pathname))) {
        const p = product(m[1]);
        return p ? send(200, 'image/svg+xml', productSvg(p)) : send(404, 'text/plain', 'no image');
      }
      if (url.pathname === '/otlp/v1/traces' && req.method === 'POST') {
        let body = null;
        try {
          body = raw ? JSON.parse(raw) : null;
        } catch (e) {
          console.error(`mock: unreadable OTLP body (${raw.length} bytes, ${req.headers['content-type']}): ${e.message}; ${raw.slice(0, 200)}`);
          return json(400, { error: { code: 'bad_otlp', message: e.message } });
        }
        spans.push({ contentType: req.headers['content-type'], body });
        return json(200, {});
      }
      if (url.pathname === '/__mock/spans') return json(200, spans);
      if (url.pathname === '/__mock/requests') return json(200, requests);
      if (url.pathname === '/__mock/config' && req.method === 'POST') {
        const next = JSON.parse(raw || '{}');
        config = { ...config, ...next, scenarios: { ...config.scenarios, ...next.scenarios } };
        return json(200, config);
      }
      if (url.pathname.startsWith('/api/')) {
        requests.push({ method: req.method, path: url.pathname, headers: req.headers });
        const body = raw ? JSON.parse(raw) : undefined;
        const out = api(req.method, url.pathname, url.searchParams, body);
        return json(out.status ?? 200, out.body);
      }
      send(404, 'text/plain', 'not found');
    } catch (e) {
      json(500, { error: { code: 'mock_failure', message: String(e) } });
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    spans,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mock = await startMock({ port: Number(process.argv[2] ?? 8018) });
  console.log(`storefront mock at ${mock.url}/`);
}
