//! shipping's wire types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuoteRequest {
    /// ISO 3166 alpha-2 destination; `US` is domestic.
    pub country: String,
    pub weight_grams: i64,
    /// Currency of the quote; USD when absent.
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Quote {
    pub country: String,
    pub international: bool,
    pub carrier: String,
    /// What the shop charges, in US cents.
    pub cost_usd_cents: i64,
    /// The same in `currency`'s minor units.
    pub cost: i64,
    pub currency: String,
    pub estimated_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShipmentRequest {
    pub order_id: String,
    pub country: String,
    pub weight_grams: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Shipment {
    pub tracking_id: String,
    pub order_id: String,
    pub carrier: String,
    pub estimated_days: u32,
}
