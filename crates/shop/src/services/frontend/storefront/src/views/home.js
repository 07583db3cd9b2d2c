// The product list: a category (the baseline browse flow, with ads) or search results.

import { api } from '../api.js';
import { categoryLabel } from '../catalog.js';
import { esc, on, show, showLoading } from '../dom.js';
import { canConvert, currentCurrency } from '../money.js';
import { navigate, rememberInteraction } from '../router.js';
import { adBanner, productGrid } from './components.js';
import { setCartCount } from './layout.js';

export async function home(ctx, route, isCurrent) {
  const { q, category } = route.query;
  const search = document.querySelector('[data-testid="search-input"]');
  if (search && document.activeElement !== search) search.value = q ?? '';
  showLoading();
  if (q) {
    const { products } = await api.products(ctx, { q, limit: 24 });
    if (!isCurrent()) return;
    show(`<h1 tabindex="-1">Results for “${esc(q)}”</h1>
      <p class="muted" data-testid="result-count">${products.length} product${products.length === 1 ? '' : 's'}</p>
      ${productGrid(products, `Results for ${q}`)}`);
    return;
  }
  const page = await api.browse(ctx, {
    category,
    limit: 24,
    currency: canConvert() ? currentCurrency() : undefined,
  });
  if (!isCurrent()) return;
  setCartCount(page.cart?.item_count ?? 0);
  const title = category ? categoryLabel(category) : 'Today’s picks';
  show(`${category ? '' : `<section class="hero">
      <h2>Everything for work, home and play</h2>
      <p>Free shipping on orders over $50 · 30-day returns</p>
    </section>`}
    <h1 tabindex="-1">${esc(title)}</h1>
    <div class="ads">${(page.ads ?? []).map(adBanner).join('')}</div>
    ${productGrid(page.products ?? [], title)}`, { focus: Boolean(category) });
}

on('submit', '[data-testid="search-form"]', (event, form) => {
  event.preventDefault();
  const q = form.elements.q.value.trim();
  rememberInteraction();
  navigate(q ? `#/?q=${encodeURIComponent(q)}` : '#/');
});
