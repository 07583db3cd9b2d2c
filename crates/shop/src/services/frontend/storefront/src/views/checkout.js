// The checkout form. Its submit is the demo flow: the submit span (traffic.type=demo) is the
// root of one trace, `checkout submit` its child, and POST /api/checkout theirs.

import { api } from '../api.js';
import { checkoutJsErrorShare } from '../config.js';
import { esc, on, show, showLoading } from '../dom.js';
import { CURRENCIES, currentCurrency } from '../money.js';
import { saveOutcome } from '../outcome.js';
import { navigate } from '../router.js';
import { runAction, traceIdOf } from '../telemetry.js';
import { cartSummary } from './cart.js';
import { chooseCurrency } from './layout.js';

const COUNTRIES = [
  ['US', 'United States'], ['CA', 'Canada'], ['GB', 'United Kingdom'], ['DE', 'Germany'],
  ['FR', 'France'], ['NL', 'Netherlands'], ['ES', 'Spain'], ['IT', 'Italy'], ['JP', 'Japan'],
  ['AU', 'Australia'], ['CH', 'Switzerland'], ['IL', 'Israel'], ['IN', 'India'], ['BR', 'Brazil'],
];

function field(id, label, input, hint = '') {
  return `<div class="field">
    <label for="${id}">${label}</label>
    ${input}
    ${hint ? `<p class="hint" id="${id}-hint">${hint}</p>` : ''}
  </div>`;
}

function options(list, selected) {
  return list.map(([value, label]) =>
    `<option value="${esc(value)}" ${value === selected ? 'selected' : ''}>${esc(label)}</option>`).join('');
}

export async function checkout(ctx, route, isCurrent) {
  showLoading();
  const view = await api.cart(ctx);
  if (!isCurrent()) return;
  if (!view.lines?.length) {
    show(`<h1 tabindex="-1">Checkout</h1><p class="empty" data-testid="cart-empty">Your cart is empty.</p>
      <p><a href="#/">Continue shopping</a></p>`);
    return;
  }
  const year = new Date().getFullYear();
  const months = Array.from({ length: 12 }, (_, i) => [String(i + 1), String(i + 1).padStart(2, '0')]);
  const years = Array.from({ length: 10 }, (_, i) => [String(year + i), String(year + i)]);
  show(`<h1 tabindex="-1">Checkout</h1>
    <div class="checkout">
      <form class="checkout-form" data-testid="checkout-form" data-traffic="demo" novalidate>
        <fieldset><legend>Contact and delivery</legend>
          ${field('email', 'E-mail', '<input id="email" name="email" type="email" autocomplete="email" required data-testid="checkout-email" placeholder="you@example.com">')}
          ${field('country', 'Ship to', `<select id="country" name="country" autocomplete="country" data-testid="checkout-country">${options(COUNTRIES, 'US')}</select>`)}
          ${field('currency', 'Currency', `<select id="currency" name="currency" data-testid="checkout-currency">${options(CURRENCIES.map((c) => [c, c]), currentCurrency())}</select>`, 'The shop charges in USD; totals are shown in this currency.')}
        </fieldset>
        <fieldset><legend>Payment</legend>
          ${field('card-number', 'Card number', '<input id="card-number" name="card_number" inputmode="numeric" autocomplete="cc-number" required pattern="[0-9 -]{12,23}" data-testid="checkout-card-number" aria-describedby="card-number-hint" placeholder="4242 4242 4242 4242">',
            'Test cards: <code>4242 4242 4242 4242</code> is approved, <code>4000 0000 0000 0002</code> is always declined.')}
          <div class="field-row">
            ${field('exp-month', 'Expiry month', `<select id="exp-month" name="exp_month" autocomplete="cc-exp-month" data-testid="checkout-exp-month">${options(months, '12')}</select>`)}
            ${field('exp-year', 'Expiry year', `<select id="exp-year" name="exp_year" autocomplete="cc-exp-year" data-testid="checkout-exp-year">${options(years, String(year + 2))}</select>`)}
            ${field('cvv', 'CVV', '<input id="cvv" name="cvv" inputmode="numeric" autocomplete="cc-csc" required pattern="[0-9]{3,4}" maxlength="4" data-testid="checkout-cvv" placeholder="123">')}
          </div>
        </fieldset>
        <p class="form-error" role="alert" data-testid="checkout-form-error" hidden></p>
        <button type="submit" class="button button-large" data-testid="checkout-submit">Place order</button>
      </form>
      <aside class="summary" aria-label="Order summary"><h2>Order summary</h2>${cartSummary(view, { editable: false })}
        <p class="muted">Shipping is quoted at checkout.</p></aside>
    </div>`);
}

function formError(form, message) {
  const el = form.querySelector('[data-testid="checkout-form-error"]');
  el.textContent = message;
  el.hidden = !message;
}

/** What the form says, or the first problem with it. */
function readForm(form) {
  const f = form.elements;
  const number = f.card_number.value.trim();
  const cvv = f.cvv.value.trim();
  const email = f.email.value.trim();
  if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return { problem: 'Enter a valid e-mail address.', focus: f.email };
  if (!/^[0-9 -]{12,23}$/.test(number)) return { problem: 'Enter the card number (12 to 19 digits).', focus: f.card_number };
  if (!/^[0-9]{3,4}$/.test(cvv)) return { problem: 'Enter the three- or four-digit CVV.', focus: f.cvv };
  return {
    body: {
      email: email || undefined,
      country: f.country.value,
      currency: f.currency.value,
      card: { number, cvv, exp_month: Number(f.exp_month.value), exp_year: Number(f.exp_year.value) },
    },
  };
}

/**
 * The `checkout-js-error` scenario: a share of checkout clicks hit a bug in the card-brand
 * detection, a real TypeError thrown before the API is called.
 */
function detectCardBrand(form) {
  if (Math.random() < checkoutJsErrorShare()) {
    // The old markup had a card-brand field; reading it now fails as the bug did.
    return form.elements.namedItem('card_brand').value.trim();
  }
  return /^4/.test(form.elements.card_number.value) ? 'visa' : 'other';
}

on('submit', '[data-testid="checkout-form"]', (event, form) => {
  event.preventDefault();
  const read = readForm(form);
  if (read.problem) {
    formError(form, read.problem);
    read.focus.focus();
    return;
  }
  formError(form, '');
  const button = form.querySelector('[data-testid="checkout-submit"]');
  button.disabled = true;
  button.textContent = 'Placing order…';
  chooseCurrency(read.body.currency);
  let actionSpan;
  runAction('checkout submit', {
    traffic: 'demo',
    attributes: { 'shipping.country': read.body.country, 'checkout.currency': read.body.currency },
  }, async (ctx, span) => {
    actionSpan = span;
    span.setAttribute('payment.card_brand', detectCardBrand(form));
    const result = await api.checkout(ctx, read.body);
    span.setAttribute('order.id', result.order.id);
    return result;
  })
    .then((result) => {
      saveOutcome({ ok: true, result, traceId: traceIdOf(actionSpan) });
      navigate(`#/order/${encodeURIComponent(result.order.id)}`);
    })
    .catch((error) => {
      saveOutcome({
        ok: false,
        status: error.status ?? null,
        code: error.code ?? error.name,
        message: error.status ? error.message : 'Something went wrong on this page while placing your order. Please try again.',
        traceId: traceIdOf(actionSpan),
      });
      navigate('#/error');
    });
});
