//! The order events checkout publishes, its asynchronous contract: `order.placed` when an
//! order commits, `order.cancelled` when a placed order is cancelled (its charge refunded).
//! No card data and no e-mail address: the customer is a hashed key.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::model::{Order, OrderItem};

pub const ORDER_PLACED: &str = "order.placed";
pub const ORDER_CANCELLED: &str = "order.cancelled";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderEvent {
    /// `evt_…`: the message id; a consumer that sees it twice does its work once.
    pub event_id: String,
    /// [`ORDER_PLACED`] or [`ORDER_CANCELLED`], also the routing key.
    pub event_type: String,
    /// When it happened (the order's commit), Unix milliseconds.
    pub occurred_at_ms: i64,
    pub order_id: String,
    pub currency: String,
    /// Where it ships (ISO 3166 alpha-2).
    pub country: Option<String>,
    /// A stable hash of the customer's e-mail address; absent for guests without one.
    pub customer_key: Option<String>,
    pub lines: Vec<OrderItem>,
    pub subtotal_cents: i64,
    pub shipping_cents: i64,
    pub total_cents: i64,
}

/// The customer key of an e-mail address: the first 128 bits of SHA-256 of its trimmed,
/// lower-cased form, in hex.
pub fn customer_key(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_ascii_lowercase().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl OrderEvent {
    /// The event of `order` of type `event_type`, happening at `at_ms`.
    pub fn of(order: &Order, event_type: &'static str, at_ms: i64) -> Self {
        let subtotal_cents = order
            .items
            .iter()
            .map(|i| i.quantity * i.unit_price_cents)
            .sum();
        Self {
            event_id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
            event_type: event_type.to_owned(),
            occurred_at_ms: at_ms,
            order_id: order.id.clone(),
            currency: order.currency.clone(),
            country: order.shipping_country.clone(),
            customer_key: order.customer_email.as_deref().map(customer_key),
            lines: order.items.clone(),
            subtotal_cents,
            shipping_cents: order.shipping_cents,
            total_cents: order.total_cents,
        }
    }

    /// Reads and checks an event: a known type, and amounts that add up.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let e: OrderEvent =
            serde_json::from_slice(body).map_err(|e| format!("not an order event: {e}"))?;
        if e.event_type != ORDER_PLACED && e.event_type != ORDER_CANCELLED {
            return Err(format!("unknown event type {:?}", e.event_type));
        }
        if e.event_id.is_empty() || e.order_id.is_empty() || e.lines.is_empty() {
            return Err("an event needs its id, its order and its lines".to_owned());
        }
        let lines: Option<i64> = e.lines.iter().try_fold(0i64, |sum, l| {
            (l.quantity > 0 && l.unit_price_cents > 0)
                .then(|| l.quantity.checked_mul(l.unit_price_cents))
                .flatten()
                .and_then(|v| sum.checked_add(v))
        });
        if lines != Some(e.subtotal_cents)
            || e.shipping_cents < 0
            || e.subtotal_cents.checked_add(e.shipping_cents) != Some(e.total_cents)
        {
            return Err("the event's amounts do not add up".to_owned());
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order {
            id: "ord_1".into(),
            status: "placed".into(),
            currency: "USD".into(),
            total_cents: 2597,
            shipping_cents: 599,
            shipping_country: Some("DE".into()),
            item_count: 2,
            customer_email: Some(" Me@Example.com".into()),
            session_id: None,
            payment_transaction_id: "txn_1".into(),
            card_last4: Some("4242".into()),
            created_at: "2026-01-01T00:00:00Z".into(),
            items: vec![OrderItem {
                product_id: 1,
                quantity: 2,
                unit_price_cents: 999,
            }],
        }
    }

    #[test]
    fn an_event_carries_no_card_and_no_address_and_round_trips() {
        let e = OrderEvent::of(&order(), ORDER_PLACED, 1);
        let body = serde_json::to_vec(&e).expect("json");
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("4242") && !text.contains("xample"), "{text}");
        assert_eq!(
            e.customer_key.as_deref(),
            Some(customer_key("me@example.com").as_str())
        );
        assert_eq!(e.customer_key.as_ref().map(String::len), Some(32));
        assert_eq!(OrderEvent::parse(&body), Ok(e));
    }

    #[test]
    fn events_that_do_not_add_up_are_refused() {
        let mut e = OrderEvent::of(&order(), ORDER_PLACED, 1);
        e.total_cents += 1;
        assert!(OrderEvent::parse(&serde_json::to_vec(&e).expect("json")).is_err());
        let mut e = OrderEvent::of(&order(), ORDER_PLACED, 1);
        e.event_type = "order.exploded".into();
        assert!(OrderEvent::parse(&serde_json::to_vec(&e).expect("json")).is_err());
        assert!(OrderEvent::parse(b"{").is_err());
        assert!(OrderEvent::parse(b"[]").is_err());
    }
}
