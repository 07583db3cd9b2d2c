//! payment's contract: its wire types and the client its callers use.

pub mod client;
pub mod model;

/// The business metrics payment records.
pub mod metric {
    /// Charges attempted, by outcome.
    pub const CHARGES: &str = "shop.payment.charges";
}
