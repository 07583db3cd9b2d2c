// What the browser remembers: the session (per tab session), the cart (per browser) and the
// shopper's display currency (per browser).

const SESSION_KEY = 'tracemart.session_id';
const CART_KEY = 'tracemart.cart_id';
const CURRENCY_KEY = 'tracemart.currency';

function randomId(prefix) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function remembered(storage, key, make) {
  try {
    let value = storage.getItem(key);
    if (!value) {
      value = make();
      storage.setItem(key, value);
    }
    return value;
  } catch {
    // Storage refused (private mode, disabled cookies): one id for this page view.
    return make();
  }
}

/** One id per browser session (tab), kept in sessionStorage. */
export const sessionId = remembered(sessionStorage, SESSION_KEY, () => randomId('web-'));

/** One cart per browser, kept in localStorage; the API accepts [A-Za-z0-9_-]{1,64}. */
export const cartId = remembered(localStorage, CART_KEY, () => randomId('cart-'));

export function savedCurrency() {
  try {
    return localStorage.getItem(CURRENCY_KEY) || 'USD';
  } catch {
    return 'USD';
  }
}

export function saveCurrency(code) {
  try {
    localStorage.setItem(CURRENCY_KEY, code);
  } catch {
    // Not remembered: the choice holds for this page view.
  }
}
