//! The scoring rules: simple, explainable, each one a reason on the score.

use crate::api::checkout::events::OrderEvent;

/// An order above this (minor units) is large: +40.
pub const LARGE_AMOUNT_CENTS: i64 = 50_000;
/// Above this it is high: +20.
pub const HIGH_AMOUNT_CENTS: i64 = 20_000;
/// Shipping to a country whose currency is not the order's: +25.
pub const CURRENCY_MISMATCH: i64 = 25;
/// This many orders by the same customer within [`VELOCITY_WINDOW_MS`] before this one: +35.
pub const VELOCITY_ORDERS: i64 = 3;
pub const VELOCITY_WINDOW_MS: i64 = 10 * 60 * 1000;

/// The currency of the countries the shop ships to most.
fn currency_of(country: &str) -> Option<&'static str> {
    Some(match country {
        "US" => "USD",
        "GB" => "GBP",
        "JP" => "JPY",
        "CA" => "CAD",
        "DE" | "FR" | "ES" | "IT" | "NL" | "BE" | "AT" | "IE" | "PT" | "FI" => "EUR",
        _ => return None,
    })
}

/// The score (0–100) of an order and the rules that fired; `recent_orders` is how many
/// orders its customer placed in the velocity window before it.
pub fn score(event: &OrderEvent, recent_orders: i64) -> (i64, Vec<&'static str>) {
    let mut score = 0;
    let mut reasons = Vec::new();
    if event.total_cents > LARGE_AMOUNT_CENTS {
        score += 40;
        reasons.push("large_amount");
    } else if event.total_cents > HIGH_AMOUNT_CENTS {
        score += 20;
        reasons.push("high_amount");
    }
    if let Some(expected) = event.country.as_deref().and_then(currency_of)
        && expected != event.currency
    {
        score += CURRENCY_MISMATCH;
        reasons.push("currency_mismatch");
    }
    if recent_orders >= VELOCITY_ORDERS {
        score += 35;
        reasons.push("velocity");
    }
    (score.min(100), reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::checkout::model::OrderItem;

    fn order(total: i64, currency: &str, country: &str) -> OrderEvent {
        OrderEvent {
            event_id: "evt".into(),
            event_type: "order.placed".into(),
            occurred_at_ms: 0,
            order_id: "ord".into(),
            currency: currency.into(),
            country: Some(country.into()),
            customer_key: Some("k".into()),
            lines: vec![OrderItem {
                product_id: 1,
                quantity: 1,
                unit_price_cents: total,
            }],
            subtotal_cents: total,
            shipping_cents: 0,
            total_cents: total,
        }
    }

    #[test]
    fn each_rule_explains_its_points() {
        assert_eq!(score(&order(1_000, "USD", "US"), 0), (0, vec![]));
        assert_eq!(
            score(&order(30_000, "USD", "US"), 0),
            (20, vec!["high_amount"])
        );
        assert_eq!(
            score(&order(60_000, "EUR", "US"), 0),
            (65, vec!["large_amount", "currency_mismatch"])
        );
        assert_eq!(
            score(&order(60_000, "EUR", "US"), 5),
            (100, vec!["large_amount", "currency_mismatch", "velocity"])
        );
        assert_eq!(score(&order(1_000, "EUR", "DE"), 3), (35, vec!["velocity"]));
        assert_eq!(
            score(&order(1_000, "EUR", "ZZ"), 0).0,
            0,
            "unknown countries pass"
        );
    }
}
