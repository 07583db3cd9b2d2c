// The cart: change a quantity, remove a line, go to the checkout.

import { api } from '../api.js';
import { esc, on, show, showLoading, toast } from '../dom.js';
import { price } from '../money.js';
import { runAction } from '../telemetry.js';
import { productArt } from './components.js';
import { setCartCount } from './layout.js';

function lineRow(line) {
  const p = line.product;
  return `<li class="cart-line" data-testid="cart-line" data-product-id="${esc(p.id)}">
    <a href="#/product/${esc(p.id)}" class="cart-line-art">${productArt(p, 'small')}</a>
    <div class="cart-line-info">
      <a href="#/product/${esc(p.id)}" class="cart-line-name">${esc(p.name)}</a>
      <span class="muted">${esc(price(p.price_cents))} each</span>
    </div>
    <label class="cart-line-qty">
      <span>Quantity</span>
      <input type="number" min="1" max="99" step="1" inputmode="numeric" value="${esc(line.quantity)}"
        data-testid="cart-line-quantity" data-product-id="${esc(p.id)}">
    </label>
    <span class="price cart-line-total" data-testid="cart-line-total">${esc(price(line.line_total_cents))}</span>
    <button type="button" class="button button-link" data-testid="cart-line-remove" data-product-id="${esc(p.id)}"
      aria-label="Remove ${esc(p.name)}">Remove</button>
  </li>`;
}

/** The cart's lines and total; shared by the cart page and the checkout's summary. */
export function cartSummary(view, { editable }) {
  if (!view.lines?.length) return '<p class="empty" data-testid="cart-empty">Your cart is empty.</p>';
  const lines = editable
    ? `<ul class="cart-lines">${view.lines.map(lineRow).join('')}</ul>`
    : `<ul class="summary-lines">${view.lines.map((l) => `<li><span>${esc(l.quantity)} × ${esc(l.product.name)}</span>
        <span class="price">${esc(price(l.line_total_cents))}</span></li>`).join('')}</ul>`;
  return `${lines}<p class="cart-total">Subtotal <span class="price" data-testid="cart-total">${esc(price(view.total_cents))}</span></p>`;
}

function renderCart(view) {
  setCartCount(view.item_count ?? 0);
  show(`<h1 tabindex="-1">Your cart</h1>
    <section data-testid="cart">${cartSummary(view, { editable: true })}</section>
    ${view.lines?.length ? '<p class="actions"><a class="button" href="#/checkout" data-testid="go-to-checkout">Proceed to checkout</a></p>' : '<p><a href="#/">Continue shopping</a></p>'}`);
}

export async function cart(ctx, route, isCurrent) {
  showLoading();
  const view = await api.cart(ctx);
  if (isCurrent()) renderCart(view);
}

/** A change to the cart, then the cart shown again. */
function changeCart(name, productId, attributes, call) {
  runAction(name, { attributes: { 'product.id': productId, ...attributes } }, async (ctx) => {
    await call(ctx);
    return api.cart(ctx);
  })
    .then(renderCart)
    .catch((error) => toast(`Could not update the cart: ${error.message}`, 'error'));
}

on('change', '[data-testid="cart-line-quantity"]', (event, input) => {
  const productId = Number(input.dataset.productId);
  const quantity = Math.max(0, Math.min(99, Math.trunc(Number(input.value))));
  if (!Number.isFinite(quantity)) return;
  changeCart('update cart quantity', productId, { 'cart.quantity': quantity },
    (ctx) => api.setQuantity(ctx, productId, quantity));
});

on('click', '[data-testid="cart-line-remove"]', (event, button) => {
  const productId = Number(button.dataset.productId);
  changeCart('remove from cart', productId, {}, (ctx) => api.removeItem(ctx, productId));
});
