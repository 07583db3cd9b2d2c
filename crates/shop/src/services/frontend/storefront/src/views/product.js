// A product with its recommendations and an ad; adding it to the cart.

import { api } from '../api.js';
import { categoryLabel } from '../catalog.js';
import { esc, on, show, showLoading, toast } from '../dom.js';
import { price } from '../money.js';
import { runAction } from '../telemetry.js';
import { adBanner, productArt, productGrid } from './components.js';
import { setCartCount } from './layout.js';

export async function product(ctx, route, isCurrent) {
  showLoading();
  const p = await api.product(ctx, route.id);
  // Recommendations and ads are extras: the page is shown without them if they fail.
  const [recs, ads] = await Promise.allSettled([
    api.recommendations(ctx, p.id),
    api.ads(ctx, p.category),
  ]);
  if (!isCurrent()) return;
  const recommended = recs.status === 'fulfilled' ? (recs.value?.products ?? []) : [];
  const ad = ads.status === 'fulfilled' ? ads.value?.ads?.[0] : undefined;
  const inStock = p.stock > 0;
  const options = Array.from({ length: Math.min(10, Math.max(1, p.stock)) }, (_, i) =>
    `<option value="${i + 1}">${i + 1}</option>`).join('');
  show(`<nav class="breadcrumb" aria-label="Breadcrumb">
      <a href="#/">Home</a> › <a href="#/?category=${esc(p.category)}">${esc(categoryLabel(p.category))}</a>
    </nav>
    <article class="product" data-testid="product-detail" data-product-id="${esc(p.id)}">
      ${productArt(p, 'large')}
      <div class="product-info">
        <h1 tabindex="-1">${esc(p.name)}</h1>
        <p class="sku">SKU ${esc(p.sku)}</p>
        <p class="price price-large">${esc(price(p.price_cents))}</p>
        <p>${esc(p.description)}</p>
        <p class="stock ${inStock ? 'in-stock' : 'out-of-stock'}">${inStock ? `In stock (${p.stock})` : 'Out of stock'}</p>
        <form class="add-form" data-testid="add-to-cart-form" data-product-id="${esc(p.id)}">
          <label for="quantity">Quantity</label>
          <select id="quantity" name="quantity" data-testid="add-quantity">${options}</select>
          <button type="submit" class="button" data-testid="add-to-cart" ${inStock ? '' : 'disabled'}>Add to cart</button>
        </form>
      </div>
    </article>
    ${ad ? `<div class="ads">${adBanner(ad)}</div>` : ''}
    ${recommended.length ? `<section class="recommendations" data-testid="recommendations">
      <h2>Customers also bought</h2>${productGrid(recommended.slice(0, 4), 'Recommendations')}</section>` : ''}`);
}

on('submit', '[data-testid="add-to-cart-form"]', (event, form) => {
  event.preventDefault();
  const productId = Number(form.dataset.productId);
  const quantity = Number(form.elements.quantity.value) || 1;
  const button = form.querySelector('button');
  button.disabled = true;
  runAction('add to cart', { attributes: { 'product.id': productId, 'cart.quantity': quantity } },
    (ctx) => api.addToCart(ctx, productId, quantity))
    .then((cart) => {
      setCartCount(cart.item_count);
      toast(`Added ${quantity} to your cart`, 'success');
    })
    .catch((error) => toast(`Could not add to cart: ${error.message}`, 'error'))
    .finally(() => { button.disabled = false; });
});
