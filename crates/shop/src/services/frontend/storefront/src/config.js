// GET /api/storefront/config, read at start and every 10 s so a scenario switched on or off
// takes effect without a reload.

import { fetchConfig } from './api.js';

const REFRESH_MS = 10_000;

let config = { service_version: 'unknown', scenarios: { checkout_js_error_share: 0 }, rum: null };

function accept(next) {
  if (!next || typeof next !== 'object') return;
  config = {
    service_version: typeof next.service_version === 'string' ? next.service_version : config.service_version,
    scenarios: { checkout_js_error_share: Number(next.scenarios?.checkout_js_error_share) || 0 },
    rum: next.rum && typeof next.rum === 'object' ? next.rum : null,
  };
}

/** Reads the config once (a missing or failing endpoint leaves the defaults). */
export async function loadConfig() {
  try {
    accept(await fetchConfig());
  } catch {
    // The page works without it: no scenario, no RUM.
  }
  return config;
}

export function watchConfig() {
  setInterval(loadConfig, REFRESH_MS);
}

export function getConfig() {
  return config;
}

/** Share of checkout clicks whose handler fails (the `checkout-js-error` scenario), 0..1. */
export function checkoutJsErrorShare() {
  return Math.min(1, Math.max(0, config.scenarios.checkout_js_error_share));
}
