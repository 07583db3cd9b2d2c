// The order confirmation.

import { api } from '../api.js';
import { esc, show, showLoading } from '../dom.js';
import { formatMinor } from '../money.js';
import { lastOutcome } from '../outcome.js';
import { productGrid } from './components.js';
import { setCartCount } from './layout.js';

export async function order(ctx, route, isCurrent) {
  showLoading();
  const placed = await api.order(ctx, route.id);
  if (!isCurrent()) return;
  setCartCount(0);
  // Right after the checkout its answer has the totals in the shopper's currency.
  const outcome = lastOutcome();
  const result = outcome?.ok && outcome.result?.order?.id === placed.id ? outcome.result : null;
  const total = result
    ? formatMinor(result.display.total, result.display.currency)
    : formatMinor(placed.total_cents, placed.currency);
  const shipping = result
    ? formatMinor(result.display.shipping, result.display.currency)
    : formatMinor(placed.shipping_cents, placed.currency);
  show(`<section class="confirmation" data-testid="confirmation" data-order-id="${esc(placed.id)}">
      <p class="confirmation-mark" aria-hidden="true">✓</p>
      <h1 tabindex="-1">Thank you for your order!</h1>
      <p>Order number <strong class="order-id" data-testid="order-id">${esc(placed.id)}</strong></p>
      <dl class="order-facts">
        <dt>Status</dt><dd>${esc(placed.status)}</dd>
        <dt>Items</dt><dd>${esc(placed.item_count)}</dd>
        <dt>Shipping</dt><dd>${esc(shipping)}${placed.shipping_country ? ` to ${esc(placed.shipping_country)}` : ''}</dd>
        <dt>Total</dt><dd class="price" data-testid="order-total">${esc(total)}</dd>
        ${result ? `<dt>Delivery</dt><dd>in about ${esc(result.estimated_delivery_days)} days</dd>` : ''}
        ${placed.customer_email ? `<dt>Confirmation sent to</dt><dd>${esc(placed.customer_email)}</dd>` : ''}
        ${placed.card_last4 ? `<dt>Paid with</dt><dd>card ending ${esc(placed.card_last4)}</dd>` : ''}
      </dl>
      ${result && result.display.currency !== placed.currency ? `<p class="muted">Charged ${esc(formatMinor(placed.total_cents, placed.currency))} (the shop charges in ${esc(placed.currency)}).</p>` : ''}
      <p><a class="button" href="#/">Continue shopping</a></p>
    </section>
    ${result?.recommendations?.length ? `<section class="recommendations"><h2>You may also like</h2>
      ${productGrid(result.recommendations.slice(0, 4), 'Recommendations')}</section>` : ''}`);
}
