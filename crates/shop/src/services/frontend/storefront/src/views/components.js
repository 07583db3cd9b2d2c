// Pieces of markup the views share.

import { adHref, categoryLabel } from '../catalog.js';
import { esc } from '../dom.js';
import { price } from '../money.js';

/** The product's picture (served by the shop), over a pure-CSS picture shown if it fails. */
export function productArt(product, size = '') {
  return `<div class="product-art cat-${esc(product.category)} ${size}" aria-hidden="true">
    <span class="art-fallback">${esc(product.name.charAt(0))}</span>
    <img src="/images/products/${esc(product.id)}.svg" alt="" loading="lazy" decoding="async" width="240" height="180">
  </div>`;
}

export function productCard(product) {
  return `<li class="card" data-testid="product-card" data-product-id="${esc(product.id)}">
    <a class="card-link" href="#/product/${esc(product.id)}">
      ${productArt(product)}
      <span class="card-category">${esc(categoryLabel(product.category))}</span>
      <span class="card-name">${esc(product.name)}</span>
      <span class="price">${esc(price(product.price_cents))}</span>
    </a>
  </li>`;
}

export function productGrid(products, label) {
  if (!products.length) return '<p class="empty">No products found.</p>';
  return `<ul class="grid" aria-label="${esc(label)}">${products.map(productCard).join('')}</ul>`;
}

export function adBanner(ad) {
  return `<aside class="ad" data-testid="ad" aria-label="Advertisement">
    <span class="ad-badge">Ad</span>
    <strong class="ad-headline">${esc(ad.headline)}</strong>
    <span class="ad-text">${esc(ad.text)}</span>
    <a class="button button-secondary" href="${esc(adHref(ad.target))}">Shop now</a>
  </aside>`;
}

/** A failed part of a page, shown in place. */
export function notice(message, kind = 'warning') {
  return `<p class="notice notice-${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${esc(message)}</p>`;
}
