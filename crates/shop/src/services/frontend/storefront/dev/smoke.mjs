// End-to-end check of the storefront in headless Chromium against dev/mock.mjs: a shopper
// searches, adds two products, changes a quantity and checks out; then a declined card and the
// checkout-js-error scenario. Asserts the page's hooks and the telemetry: every exported span
// is storefront-web's with session.id and traffic.type, and POST /api/checkout carried a
// traceparent and a baggage whose trace is the exported submit span's.
//
//   node dev/smoke.mjs   (CHROMIUM=/path/to/chromium for another browser; SMOKE_DEBUG=1 prints
//                         the page's requests and, on a timeout, what was exported)

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

import { startMock } from './mock.mjs';

const executablePath = process.env.CHROMIUM
  ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
if (!executablePath) {
  console.error('smoke: no Chromium found; install it (apt-get install chromium) or set CHROMIUM');
  process.exit(1);
}

const mock = await startMock();
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const page = await browser.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e));
page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(new Error(m.text())); });
if (process.env.SMOKE_DEBUG) {
  page.on('requestfailed', (r) => console.error('request failed', r.method(), r.url(), r.failure()?.errorText));
  page.on('framenavigated', (f) => console.error('navigated', f.url()));
  page.on('request', (r) => { if (r.url().includes('/otlp/')) console.error('otlp', Date.now() % 100000); });
}

const step = (name) => console.log(`smoke: ${name}`);
const byTest = (id) => page.locator(`[data-testid="${id}"]`);

async function poll(what, fn, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) {
      if (process.env.SMOKE_DEBUG) console.error('otlp bodies', mock.spans.length, JSON.stringify(mock.spans.map((b) => (b.body?.resourceSpans ?? []).flatMap((r) => r.scopeSpans.flatMap((x) => x.spans.map((y) => y.name))).join(','))));
      if (process.env.SMOKE_DEBUG) console.error(JSON.stringify(exportedSpans().map((s) => [s.name, s.scope, s.traceId, s.spanId, s.parentSpanId]), null, 0));
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function attrs(list) {
  return Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value ?? {})[0]]));
}

/** Every exported span with its resource's attributes. */
function exportedSpans() {
  const out = [];
  for (const { body } of mock.spans) {
    for (const rs of body?.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) out.push({ ...s, attributes: attrs(s.attributes), resource, scope: ss.scope?.name });
      }
    }
  }
  return out;
}

const flush = () => page.evaluate(() => dispatchEvent(new Event('pagehide')));

async function addToCart(productId) {
  await page.locator(`[data-testid="product-card"][data-product-id="${productId}"] a`).click();
  await byTest('product-detail').waitFor();
  const before = Number(await byTest('cart-count').textContent());
  await byTest('add-to-cart').click();
  await poll('the cart count to grow', async () => Number(await byTest('cart-count').textContent()) > before);
}

async function fillCheckout(card) {
  await page.goto(`${mock.url}/#/checkout`);
  await byTest('checkout-form').waitFor();
  await byTest('checkout-email').fill('ada@shoppers.example');
  await byTest('checkout-country').selectOption('DE');
  await byTest('checkout-currency').selectOption('EUR');
  await byTest('checkout-card-number').fill(card);
  await byTest('checkout-cvv').fill('123');
  await byTest('checkout-submit').click();
}

try {
  step('home page');
  await page.goto(`${mock.url}/`);
  await byTest('product-card').first().waitFor();
  assert.ok(await byTest('search-input').isVisible());

  step('search');
  await byTest('search-input').fill('headphones');
  await byTest('search-input').press('Enter');
  await page.locator('[data-testid="product-card"][data-product-id="1"]').waitFor();
  assert.equal(await byTest('product-card').count(), 1);

  step('add two products');
  await addToCart(1);
  await page.locator('[data-nav-category="home-kitchen"]').click();
  await page.locator('[data-testid="product-card"][data-product-id="10"]').waitFor();
  await addToCart(10);
  assert.equal(await byTest('cart-count').textContent(), '2');

  step('change a quantity, remove and re-add');
  await byTest('cart-link').click();
  await poll('two cart lines', async () => (await byTest('cart-line').count()) === 2);
  const qty = page.locator('[data-testid="cart-line-quantity"][data-product-id="1"]');
  await qty.fill('3');
  await qty.press('Tab');
  await poll('the cart count to be 4', async () => (await byTest('cart-count').textContent()) === '4');
  await page.locator('[data-testid="cart-line-remove"][data-product-id="10"]').click();
  await poll('one cart line', async () => (await byTest('cart-line').count()) === 1);
  assert.equal(await byTest('cart-count').textContent(), '3');

  step('check out');
  await fillCheckout('4242 4242 4242 4242');
  const confirmation = byTest('confirmation');
  await confirmation.waitFor();
  const orderId = await confirmation.getAttribute('data-order-id');
  assert.match(orderId, /^ord-/);
  assert.match(await byTest('order-total').textContent(), /€/);

  step('telemetry of the checkout');
  const checkoutRequest = mock.requests.find((r) => r.method === 'POST' && r.path === '/api/checkout');
  const traceparent = checkoutRequest.headers.traceparent;
  const baggage = decodeURIComponent(checkoutRequest.headers.baggage ?? '');
  assert.match(traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, 'POST /api/checkout carries traceparent');
  assert.match(baggage, /traffic\.type=demo/, 'POST /api/checkout carries traffic.type=demo in baggage');
  const sessionId = /session\.id=([^,;]+)/.exec(baggage)?.[1];
  assert.ok(sessionId, 'POST /api/checkout carries session.id in baggage');
  const traceId = traceparent.split('-')[1];
  await flush();
  const spans = await poll('the checkout trace to be exported', () => {
    const all = exportedSpans();
    const trace = all.filter((s) => s.traceId === traceId);
    return trace.some((s) => s.name === 'submit') && trace.some((s) => s.scope?.includes('fetch')) ? all : null;
  });
  const trace = spans.filter((s) => s.traceId === traceId);
  const submit = trace.find((s) => s.name === 'submit');
  const action = trace.find((s) => s.name === 'checkout submit');
  const fetchSpan = trace.find((s) => s.scope?.includes('fetch'));
  assert.ok(!submit.parentSpanId, 'the submit span is the root of the checkout trace');
  assert.equal(action.parentSpanId, submit.spanId, 'checkout submit is a child of the submit');
  assert.equal(fetchSpan.parentSpanId, action.spanId, 'the fetch is a child of checkout submit');
  assert.equal(traceparent.split('-')[2], fetchSpan.spanId, 'the request names the fetch span as parent');
  for (const s of trace) assert.equal(s.attributes['traffic.type'], 'demo', `${s.name} is demo traffic`);
  for (const s of spans) {
    assert.equal(s.resource['service.name'], 'storefront-web', `${s.name}: service.name`);
    assert.equal(s.resource['service.namespace'], 'tracemart', `${s.name}: service.namespace`);
    assert.equal(s.attributes['session.id'], sessionId, `${s.name}: session.id`);
    assert.ok(['baseline', 'demo'].includes(s.attributes['traffic.type']), `${s.name}: traffic.type`);
  }
  assert.ok(spans[0].resource['user_agent.original'], 'user_agent.original on the resource');
  assert.ok(spans[0].resource['browser.language'], 'browser.language on the resource');
  assert.ok(spans.some((s) => s.name === 'documentLoad'), 'the page load is a span');
  const baseline = mock.requests.filter((r) => r.path !== '/api/checkout' && r.path !== '/api/storefront/config');
  for (const r of baseline) {
    assert.match(decodeURIComponent(r.headers.baggage ?? ''), /traffic\.type=baseline/, `${r.method} ${r.path} is baseline`);
    assert.ok(r.headers.traceparent, `${r.method} ${r.path} carries traceparent`);
  }

  step('a declined card shows the error page with the trace id');
  await page.goto(`${mock.url}/#/`);
  await byTest('product-card').first().waitFor();
  await addToCart(2);
  await fillCheckout('4000000000000002');
  const errorPage = byTest('error-page');
  await errorPage.waitFor();
  const declined = mock.requests.filter((r) => r.path === '/api/checkout').at(-1);
  assert.equal(await errorPage.getAttribute('data-trace-id'), declined.headers.traceparent.split('-')[1]);
  assert.match(await byTest('error-message').textContent(), /declined/);

  step('checkout-js-error scenario');
  await fetch(`${mock.url}/__mock/config`, { method: 'POST', body: JSON.stringify({ scenarios: { checkout_js_error_share: 1 } }) });
  await page.reload();
  const checkouts = mock.requests.filter((r) => r.path === '/api/checkout').length;
  await fillCheckout('4242424242424242');
  await errorPage.waitFor();
  const jsTrace = await errorPage.getAttribute('data-trace-id');
  assert.equal(mock.requests.filter((r) => r.path === '/api/checkout').length, checkouts, 'no API call after the JS error');
  await flush();
  const failedAction = await poll('the failed checkout span', () =>
    exportedSpans().find((s) => s.traceId === jsTrace && s.name === 'checkout submit'));
  assert.equal(failedAction.status?.code, 2, 'the action span is ERROR');
  const exception = failedAction.events?.find((e) => e.name === 'exception');
  assert.equal(attrs(exception?.attributes)['exception.type'], 'TypeError');
  assert.ok(attrs(exception?.attributes)['exception.stacktrace']);

  step('web vitals');
  const vital = await poll('a web-vitals span', () => exportedSpans().find((s) => s.name === 'web-vitals'));
  assert.ok(['lcp', 'cls', 'inp'].includes(vital.attributes['browser.web_vital.name']), 'browser.web_vital.name');
  assert.equal(typeof vital.attributes['browser.web_vital.value'], 'number');
  assert.ok(vital.events?.some((e) => e.name === 'browser.web_vital'), 'the browser.web_vital event');

  const unexpected = pageErrors.filter((e) => !/status of 40[24]/.test(e.message));
  assert.deepEqual(unexpected.map((e) => e.message), [], 'no unexpected page errors');
  console.log(`smoke: ok (${exportedSpans().length} spans exported)`);
} catch (error) {
  await page.screenshot({ path: '/tmp/storefront-smoke.png', fullPage: true }).catch(() => {});
  console.error('smoke: FAILED (screenshot: /tmp/storefront-smoke.png)');
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
  await mock.close();
}
