//! checkout's contract: its wire types and the client its callers use.

pub mod client;
pub mod events;
pub mod model;

/// The business metrics checkout records.
pub mod metric {
    /// Orders placed.
    pub const ORDERS: &str = "shop.orders";
    /// Revenue of placed orders, in minor units of the order currency.
    pub const REVENUE: &str = "shop.revenue";
}
