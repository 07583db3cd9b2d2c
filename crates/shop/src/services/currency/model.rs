//! currency's wire types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rate {
    pub currency: String,
    /// Units of `currency` for one US dollar.
    pub per_usd: f64,
    /// Digits after the decimal point of the currency (2 for EUR, 0 for JPY).
    pub minor_digits: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rates {
    pub base: String,
    pub rates: Vec<Rate>,
    /// When the rates were read, RFC 3339.
    pub as_of: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConvertQuery {
    pub from: String,
    pub to: String,
    /// Minor units of `from`.
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conversion {
    pub from: String,
    pub to: String,
    /// Minor units of `from`.
    pub amount: i64,
    /// Minor units of `to`, rounded half away from zero.
    pub converted: i64,
    pub rate: f64,
}
