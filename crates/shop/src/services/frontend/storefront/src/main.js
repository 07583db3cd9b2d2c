// The storefront: reads its config, starts the telemetry, then routes.

import { api } from './api.js';
import { loadConfig, watchConfig } from './config.js';
import { listen } from './dom.js';
import { setRates } from './money.js';
import { currentTemplate, startRouter } from './router.js';
import { recordUncaught, runAction, startTelemetry } from './telemetry.js';
import { watchVitals } from './vitals.js';
import { cart } from './views/cart.js';
import { checkout } from './views/checkout.js';
import { checkoutError, failed, notFound } from './views/error.js';
import { home } from './views/home.js';
import { initLayout, setCartCount } from './views/layout.js';
import { order } from './views/order.js';
import { product } from './views/product.js';

async function start() {
  const config = await loadConfig();
  startTelemetry({ serviceVersion: config.service_version, currentRoute: currentTemplate });
  recordUncaught();
  watchVitals();
  watchConfig();
  if (config.rum) {
    // Coralogix RUM is not bundled yet; the config asks for it.
    console.info('storefront: Coralogix RUM is configured but not part of this bundle');
  }
  // Listeners are added after the instrumentation so each handled event is a span.
  listen();
  initLayout();
  // Prices in the shopper's currency: the rates, once (USD until they come).
  const rates = runAction('load currency rates', {}, (ctx) => api.currencies(ctx))
    .then((r) => setRates(r?.rates))
    .catch(() => {});
  await Promise.race([rates, new Promise((resolve) => setTimeout(resolve, 1500))]);
  // The header's cart count, whatever page the shopper lands on.
  runAction('load cart summary', {}, (ctx) => api.cart(ctx))
    .then((cart) => setCartCount(cart?.item_count ?? 0))
    .catch(() => {});
  startRouter({ home, product, cart, checkout, order, error: checkoutError, notFound, failed });
}

start();
