//! checkout's wire types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: i64,
    pub quantity: i64,
}

/// The payment that already covers the order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaymentRef {
    pub transaction_id: String,
    pub amount_cents: i64,
    pub card_last4: Option<String>,
}

/// How the order ships and what that costs, in the order currency.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShippingRef {
    pub country: String,
    pub cost_cents: i64,
    pub carrier: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlaceOrder {
    pub currency: String,
    pub customer_email: Option<String>,
    pub session_id: Option<String>,
    pub items: Vec<OrderLine>,
    pub payment: PaymentRef,
    pub shipping: Option<ShippingRef>,
    /// The checkout attempt: the same key never makes a second order (the first is
    /// answered again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// When the caller stops waiting (Unix ms): the order is not written after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_unix_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrderItem {
    pub product_id: i64,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Order {
    pub id: String,
    pub status: String,
    pub currency: String,
    /// Items plus shipping.
    pub total_cents: i64,
    pub shipping_cents: i64,
    pub shipping_country: Option<String>,
    pub item_count: i64,
    pub customer_email: Option<String>,
    pub session_id: Option<String>,
    pub payment_transaction_id: String,
    pub card_last4: Option<String>,
    pub created_at: String,
    pub items: Vec<OrderItem>,
}
