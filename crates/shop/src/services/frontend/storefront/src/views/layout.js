// The header: category links, the cart count and the currency choice.

import { CATEGORIES } from '../catalog.js';
import { esc, on } from '../dom.js';
import { CURRENCIES, currentCurrency, setCurrency } from '../money.js';
import { rerender } from '../router.js';

export function setCartCount(count) {
  const el = document.querySelector('[data-testid="cart-count"]');
  if (!el) return;
  el.textContent = String(count ?? 0);
  el.closest('a')?.setAttribute('aria-label', `Cart, ${count ?? 0} item${count === 1 ? '' : 's'}`);
}

export function initLayout() {
  const nav = document.querySelector('[data-testid="category-nav"]');
  nav.innerHTML = [{ id: '', label: 'All' }, ...CATEGORIES].map((c) =>
    `<li><a href="${c.id ? `#/?category=${esc(c.id)}` : '#/'}" data-nav-category="${esc(c.id)}">${esc(c.label)}</a></li>`).join('');
  const select = document.querySelector('[data-testid="currency-select"]');
  select.innerHTML = CURRENCIES.map((c) => `<option value="${c}">${c}</option>`).join('');
  select.value = currentCurrency();
  on('change', '[data-testid="currency-select"]', (event, el) => {
    setCurrency(el.value);
    rerender();
  });
}

/** The shopper's currency, chosen elsewhere (the checkout form): the header follows. */
export function chooseCurrency(code) {
  setCurrency(code);
  const select = document.querySelector('[data-testid="currency-select"]');
  if (select) select.value = code;
}
