// Prices in the shopper's currency. The shop prices and charges in USD cents; the rates come
// from GET /api/currencies and convert as the currency service does (rounded half away from
// zero, in the target currency's minor units).

import { savedCurrency, saveCurrency } from './session.js';

export const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CHF'];

let rates = new Map([['USD', { per_usd: 1, minor_digits: 2 }]]);
let currency = CURRENCIES.includes(savedCurrency()) ? savedCurrency() : 'USD';

export function currentCurrency() {
  return currency;
}

export function setCurrency(code) {
  if (!CURRENCIES.includes(code)) return;
  currency = code;
  saveCurrency(code);
}

/** Takes the `rates` array of GET /api/currencies. */
export function setRates(list) {
  const next = new Map();
  for (const r of list ?? []) {
    if (r && typeof r.currency === 'string' && r.per_usd > 0) {
      next.set(r.currency, { per_usd: r.per_usd, minor_digits: r.minor_digits ?? 2 });
    }
  }
  if (next.has('USD')) rates = next;
}

/** Whether prices can be shown in the chosen currency (else they are shown in USD). */
export function canConvert() {
  return rates.has(currency);
}

function formatter(code, digits) {
  return new Intl.NumberFormat(navigator.language || 'en-US', {
    style: 'currency',
    currency: code,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Minor units of `code` as text, e.g. 1999 EUR → "€19.99". */
export function formatMinor(amount, code) {
  const digits = rates.get(code)?.minor_digits ?? (code === 'JPY' ? 0 : 2);
  return formatter(code, digits).format(amount / 10 ** digits);
}

/** US cents shown in the shopper's currency. */
export function price(usdCents) {
  const target = rates.get(currency);
  if (!target || currency === 'USD') return formatMinor(usdCents, 'USD');
  const major = (usdCents / 100) * target.per_usd;
  const minor = Math.sign(major) * Math.round(Math.abs(major) * 10 ** target.minor_digits);
  return formatMinor(minor, currency);
}
